"""What comes out: progress lines, exports, the final benchmark and its report."""
