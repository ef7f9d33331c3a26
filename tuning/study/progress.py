"""One line per finished trial and an overall progress bar, from the study's own records."""

from __future__ import annotations

import sys

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from tuning.study.rungs import FINISHED, final_climbers, final_slots, ranked, rung_of


def printable(text) -> str:
    """`text` with every control or non-printable character escaped (\\x1b, \\n, ...): what any client of
    a shared storage wrote (study names, params, reasons) reaches the terminal as text, never as
    escape sequences that move the cursor, recolour or retitle it."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def counts(study: optuna.Study) -> dict[str, int]:
    tally = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        tally[trial.state.name.lower()] += 1
    tally["finished"] = tally["complete"] + tally["pruned"]
    return tally


def trial_line(trial, best) -> str:
    attrs = trial.user_attrs
    value = trial.value if trial.value is not None else (
        list(trial.intermediate_values.values())[-1] if trial.intermediate_values else None
    )
    shown = f"val_acc {value:.4f}" if value is not None else "val_acc   -   "
    epochs = attrs.get("epochs_run", len(trial.intermediate_values))
    seconds = attrs.get("fit_seconds")
    rung = rung_of(trial)
    text = f"trial {trial.number:>3} {trial.state.name:<8} {rung:<5} {shown}  epochs {epochs:>2}  {seconds or 0:>6.1f}s"
    if best is not None:
        text += f"  best {best.value:.4f} (#{best.number}, {rung_of(best)})"
    if trial.state == TrialState.FAIL:
        text += f"  reason: {attrs.get('fail_reason', 'no reason recorded (the worker stopped or died)')}"
    if attrs.get("baseline"):
        text += "  [original study's model]"
    elif attrs.get("starting_point"):
        text += f"  [{attrs['starting_point']}]"
    if "promoted_from" in attrs:
        text += f"  [climbed from #{attrs['promoted_from']}]"
    return printable(text)


def where_it_stands(trials, target: int, rungs=()) -> str:
    """'  [finished/target, elapsed, about T left]': the study's own run time (busy_seconds: every
    worker's trials, a pause between two runs left out), so a resumed or many-worker study says where
    it stands. The time left is the run time per image trained so far times the images still owed
    (images_owed): the final rung's slots count at their own length, so a study does not say
    "2 min left" as its last and longest trials begin."""
    finished = [t for t in trials if t.state in FINISHED]
    if not finished:
        return ""
    elapsed = busy_seconds(trials)
    left = elapsed / sum(map(images_trained, finished)) * images_owed(finished, target, rungs)
    return f"  [{len(finished)}/{target}, {elapsed / 60:.1f} min, about {left / 60:.0f} min left]"


def images_trained(trial) -> int:
    """A finished trial's cost: epochs run times training images (a probe on a share counts its share;
    a trial without these records, one epoch per report)."""
    epochs = trial.user_attrs.get("epochs_run", len(trial.intermediate_values))
    return max(1, epochs) * trial.user_attrs.get("train_images", 1)


def images_owed(finished, target: int, rungs=()) -> float:
    """The images a study still trains on to reach `target` finished trials: the final rung's slots
    (final_climbers: the leaders of the rung below, and the best starting point where they do not
    hold it; until that rung has final_slots configs, final_slots and one for a starting point) at
    the final schedule on every training image, the other trials to come at the mean of those
    finished below the final rung. `rungs`: tuning.study.rungs.ladder; none, every trial to come at
    the mean."""
    remaining = max(0, target - len(finished))
    top = rungs[-1] if rungs and rungs[-1].name == "final" else None
    below = [t for t in finished if top is None or rung_of(t) != "final"] or finished
    mean = sum(map(images_trained, below)) / len(below)
    if top is None:
        return remaining * mean
    slots = len(final_climbers(finished, rungs[-2].name, target))
    if slots < final_slots(target):  # the rung below is still filling: who leads it is not known yet
        slots = final_slots(target) + any("starting_point" in t.user_attrs for t in finished)
    done = sum(rung_of(t) == "final" for t in finished)
    final_left = min(remaining, max(0, slots - done))
    full = max(t.user_attrs.get("train_images", 1) for t in finished)
    return final_left * top.epochs * full + (remaining - final_left) * mean


class Reporter:
    """Prints trials that finished since the last poll; works for one process or many workers."""

    def __init__(self, study: optuna.Study, target: int, stream=sys.stdout, rungs=()):
        self.study, self.target, self.stream, self.rungs = study, target, stream, rungs
        self.seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
        done = counts(study)["finished"]
        self.bar = tqdm(total=target, initial=min(done, target), desc=printable(study.study_name), unit="trial", file=sys.stderr, disable=None)

    def poll(self, *_ignored) -> None:
        trials = self.study.get_trials(deepcopy=False)
        best = next(iter(ranked(trials)), None)
        for trial in sorted(trials, key=lambda t: t.number):
            if trial.state.is_finished() and trial.number not in self.seen:
                self.seen.add(trial.number)
                tqdm.write(trial_line(trial, best) + where_it_stands(trials, self.target, self.rungs), file=self.stream)
                if trial.state in FINISHED:
                    self.bar.update(1)
        if best is not None:
            self.bar.set_postfix_str(f"best {best.value:.4f}", refresh=False)
        self.stream.flush()

    def close(self) -> None:
        self.bar.close()


def best_trial(study: optuna.Study):
    """The best complete trial of the study's highest rung (tuning.study.rungs): what it would ship."""
    best = ranked(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    return best[0] if best else None


#: a gap between trials longer than this is a pause of the study (stopped, resumed later), not its run
PAUSE_SECONDS = 600


def busy_seconds(trials) -> float:
    """How long the study has run: from its first trial's start to its last one's end, less every
    gap of over PAUSE_SECONDS during which no trial ran (a study resumed days later is not charged
    for the days between; the seconds between one trial and the next are). A trial whose worker died
    (failed with no reason recorded) is left out: it ends when another worker found it silent, which
    may be the next run's start."""
    spans = sorted((t.datetime_start, t.datetime_complete) for t in trials if t.datetime_start and t.datetime_complete
                   and not (t.state == TrialState.FAIL and "fail_reason" not in t.user_attrs))
    total, end = 0.0, None
    for start, complete in spans:
        if end is not None and (start - end).total_seconds() <= PAUSE_SECONDS:
            start = end  # one run: a short gap belongs to it, an overlap counts once
        if end is None or complete > end:
            total += (complete - start).total_seconds()
            end = complete
    return total
