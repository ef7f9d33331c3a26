"""The Keras backend and the devices it runs on: which GPU a worker sees, how much memory it
takes, threads, precision, and what a trial records about them.

Keras 3 runs the same models on TensorFlow (the default), JAX or PyTorch: `KERAS_BACKEND=jax tune
start ...`. Everything here that must happen before the backend loads (GPU pinning, memory
growth) is done through environment variables in `prepare_process`, which the CLI calls first.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from pathlib import Path

from tuning.errors import UserError

BACKENDS = {"tensorflow": ".", "jax": ".[jax]", "torch": ".[torch]"}  # backend -> the extra that installs it
PRECISIONS = {"float32": "float32", "mixed": None}  # mixed: float16 on a GPU, bfloat16 on a CPU


def backend_name() -> str:
    """The backend Keras will load ($KERAS_BACKEND, else TensorFlow), checked before it loads."""
    name = os.environ.get("KERAS_BACKEND", "tensorflow") or "tensorflow"
    if name not in BACKENDS:
        raise UserError(f"KERAS_BACKEND={name!r} is not a backend here; use one of {', '.join(BACKENDS)} (or unset it)")
    if importlib.util.find_spec(name) is None:
        raise UserError(f"KERAS_BACKEND={name} but {name} is not installed here; pip install -e '{BACKENDS[name]}' "
                        "or unset KERAS_BACKEND (TensorFlow)")
    return name


def machine_gpus() -> int | None:
    """How many GPUs this process may use, read before any backend loads: CUDA_VISIBLE_DEVICES when
    set, else the NVIDIA driver's list; None where neither tells (no NVIDIA driver: no GPU we use)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([part for part in visible.split(",") if part.strip() and part.strip() != "-1"])
    driver = Path("/proc/driver/nvidia/gpus")
    return len(list(driver.iterdir())) if driver.is_dir() else None


def check_gpus(gpus: list[str] | None) -> None:
    """`--gpus` names only GPUs this machine has (an absent one would leave its workers on the CPU unsaid)."""
    if gpus is None:
        return
    have = machine_gpus() or 0
    missing = [gpu for gpu in gpus if int(gpu) >= have]
    if missing:
        where = f"GPUs 0..{have - 1}" if have else "no GPU"
        raise UserError(f"--gpus {','.join(gpus)}: this machine has {where}, so not GPU {missing[0]}; "
                        "name GPUs it has, or drop --gpus to use what it has (the CPU without one)")


def check_threads(threads: int | None) -> None:
    """`--threads` at most the cores this process may run on: more only slows TensorFlow down, and
    tens of thousands make it abort."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if threads is not None and threads > cores:
        raise UserError(f"--threads {threads}: this machine gives this process {cores} cores; give at most {cores}")


def parse_gpus(text: str | None) -> list[str] | None:
    """`--gpus 0,1` -> ['0', '1']; None when not given (then every GPU the machine has)."""
    if text is None:
        return None
    gpus = [part.strip() for part in text.split(",") if part.strip()]
    if not gpus or not all(part.isdigit() for part in gpus):
        raise UserError(f"--gpus {text!r}: give GPU indices as a comma list, e.g. --gpus 0,1")
    return gpus


def prepare_process(worker_index: int = 0, gpus: list[str] | None = None) -> None:
    """Before the backend loads: this worker sees GPU `worker_index mod len(gpus)` (all of the
    machine's when `gpus` is None and CUDA_VISIBLE_DEVICES is unset, as Optuna's and KerasTuner's
    docs pin workers), and takes GPU memory as it needs it, so workers can share one GPU."""
    if gpus is None and os.environ.get("CUDA_VISIBLE_DEVICES"):
        gpus = parse_gpus(os.environ["CUDA_VISIBLE_DEVICES"])
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[worker_index % len(gpus)]
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # TensorFlow: grow, do not take it all
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX: the same
    # PyTorch's caching allocator already takes memory as needed


def gpu_names() -> list[str]:
    """The GPUs the loaded backend sees (empty on a CPU-only machine)."""
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                    for gpu in tf.config.list_physical_devices("GPU")]
        if backend == "jax":
            import jax

            return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
        import torch

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    except (ImportError, RuntimeError):
        return []


def set_precision(precision: str) -> str:
    """Keras' global dtype policy for `precision` (float32, or mixed: float16 compute on a GPU,
    bfloat16 on a CPU, float32 variables and outputs); returns the policy's name."""
    import keras

    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    policy = PRECISIONS[precision] or ("mixed_float16" if gpu_names() else "mixed_bfloat16")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def set_threads(threads: int | None) -> None:
    """Pin the backend's CPU thread pools (before any op runs); None leaves its default."""
    if not threads:
        return
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
    # JAX sizes its CPU pool when it starts; XLA offers no supported knob to change it afterwards


def default_threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def device_record() -> dict:
    """What a trial or benchmark cell records about where it ran."""
    import keras

    gpus = gpu_names()
    return {"backend": keras.config.backend(), "device": gpus[0] if gpus else f"CPU ({platform.machine()}, {os.cpu_count()} cores)",
            "precision": keras.mixed_precision.global_policy().name}


def describe() -> str:
    """One line for the start of a run: backend, device, and what that means."""
    record = device_record()
    where = record["device"] if not record["device"].startswith("CPU") else f"{record['device']}: no GPU visible, running on the CPU"
    return f"backend {record['backend']}, {where}, precision {record['precision']}"
