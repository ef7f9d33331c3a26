"""The rungs a config climbs in a study: complete training schedules of growing length, the top one
the schedule the exported model trains with (asynchronous successive halving, with restarts).

- probe: a short complete schedule (a quarter of the trial's epochs; on a split that reports within
  an epoch, one epoch over that share of the training images). Every config starts here, the
  starting points too, so a study has a useful model within its first minute.
- trial: the study's schedule (`--max-epochs`). The top third of the probes climb to it.
- final: the final-training policy (tuning.settings.final_config), where it trains longer than a
  trial: the study's last trials retrain its leaders there, so `tune export` ships what was measured,
  and its best starting point, so the search's gain is stated at that schedule.

A config is judged against the others of its rung alone, each at the end (or the same point) of
the same schedule. A climb is a new trial with the same params and the attributes `rung` and
`promoted_from`, which the dashboard shows like any other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from optuna.trial import TrialState

from tuning.settings import final_config

RUNGS = ("probe", "trial", "final")  # low to high fidelity
ETA = 3  # the top 1/ETA of a rung's finished trials climb to the next
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Rung:
    name: str
    epochs: int
    train_fraction: float = 1.0  # of the holdout's training images


def ladder(settings) -> tuple[Rung, ...]:
    """The rungs of a study (StudySettings), low to high; one rung for a study without the ladder."""
    trial = Rung("trial", settings.max_epochs)
    if not settings.ladder:
        return (trial,)
    if settings.reports_per_epoch > 1:
        probe = Rung("probe", 1, round(1 / settings.reports_per_epoch, 4))
    else:
        probe = Rung("probe", max(1, settings.max_epochs // 4))
    rungs = [probe] if probe.epochs * probe.train_fraction < trial.epochs else []
    rungs.append(trial)
    final_epochs = final_config({"epochs": settings.max_epochs})["epochs"]
    if final_epochs > trial.epochs:
        rungs.append(Rung("final", final_epochs))
    return tuple(rungs)


def rung_of(trial) -> str:
    """The rung a trial ran at (a trial from before the ladder ran at the study's schedule)."""
    return trial.user_attrs.get("rung", "trial")


def ranked(trials) -> list:
    """Complete trials, best first: those of the highest rung first. The original model (the
    reference, which never climbs) is ranked by value among the configs of the lowest rung."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    lowest = min((RUNGS.index(rung_of(t)) for t in complete if not t.user_attrs.get("baseline")),
                 default=RUNGS.index("trial"))

    def key(trial):
        level = lowest if trial.user_attrs.get("baseline") else RUNGS.index(rung_of(trial))
        return level, trial.value

    return sorted(complete, key=key, reverse=True)


def is_sampled(trial) -> bool:
    """Whether a trial's config came from the sampler (not the original model, a warm start or a
    known-good config; a climb keeps its origin)."""
    return not trial.user_attrs.get("baseline") and "starting_point" not in trial.user_attrs


def final_slots(target: int) -> int:
    """How many leaders of the trial rung a study's last trials retrain at the final rung: 1 per 30
    trials, 1..3 (and its best starting point, when not among them)."""
    return min(3, max(1, target // 30))


def rung_leaders(trials, rung: str) -> list:
    """The finished configs of `rung`, best first (the original model, the reference, left out)."""
    finished = [t for t in trials if t.state in FINISHED and rung_of(t) == rung]
    return [t for t in ranked(finished) if not t.user_attrs.get("baseline")]


def final_climbers(trials, below: str, target: int) -> list:
    """Who the study's last trials retrain at the final rung: the leaders of the rung `below` it
    (final_slots), and the best starting point among its finished configs when they do not hold it,
    so the search's gain is stated at the schedule the export ships."""
    leaders = rung_leaders(trials, below)
    climbers = leaders[:final_slots(target)]
    start = next((t for t in leaders if not is_sampled(t)), None)
    if start is not None and start.number not in {t.number for t in climbers}:
        climbers.append(start)
    return climbers


def promotion_key(trial) -> tuple[int, str] | None:
    """(trial it climbs from, rung) for a climb, else None."""
    source = trial.user_attrs.get("promoted_from")
    return None if source is None else (source, rung_of(trial))


#: how many times a climb runs before a failing one is given up
CLIMB_TRIES = 2


def is_not_run(trial) -> bool:
    """A trial recorded as failed without running (it lost a start race, tuning.errors.NotRun)."""
    return str(trial.user_attrs.get("fail_reason", "")).startswith("not run")


def due_promotion(trials, rungs: tuple[Rung, ...], target: int):
    """(trial, rung it climbs to) for the next climb the study owes, highest rung first, or None.

    A rung's top 1/ETA of its finished trials climb (the original model does not: it is the
    reference); a starting point (warm start, known-good config) that leads its rung climbs at
    once, without waiting for peers: its climb is queued behind the starting points' probes already
    waiting, so a study's first full-length model comes after those probes. The final rung takes the
    leaders of the trial rung, best first, and the best starting point among them if they do not
    hold it (so the search's gain is measured at the schedule the export ships), in the study's last
    trials, when every other config has had its chance."""
    if len(rungs) < 2:
        return None
    live = [t for t in trials if t.state != TrialState.FAIL]
    failed = Counter(promotion_key(t) for t in trials if t.state == TrialState.FAIL and not is_not_run(t))
    # a climb that failed is queued again (a killed worker's), but not a third time: one that fails
    # for its own reasons (memory, say) would otherwise take the study's every remaining run
    taken = ({promotion_key(t) for t in live} | {key for key, times in failed.items() if times >= CLIMB_TRIES}) - {None}
    remaining = target - len(live)
    if remaining <= 0:
        return None  # a climb past the target would never run
    for lower, upper in reversed(list(zip(rungs, rungs[1:]))):
        if upper.name == "final":
            climbers = final_climbers(trials, lower.name, target)
            if remaining > len(climbers) - sum(key[1] == "final" for key in taken):
                continue  # the final rung's slots are the study's last
        else:
            leaders = rung_leaders(trials, lower.name)
            quota = sum(t.state in FINISHED and rung_of(t) == lower.name for t in trials) // ETA
            if leaders and not is_sampled(leaders[0]):
                quota = max(quota, 1)  # a starting point that leads its rung climbs at once
            climbers = leaders[:quota]
        for trial in climbers:
            if (trial.number, upper.name) not in taken:
                return trial, upper
    return None


def promote(study, settings, target: int):
    """Queue the next climb the study owes (due_promotion) as a trial; the source trial, or None."""
    due = due_promotion(study.get_trials(deepcopy=False), ladder(settings), target)
    if due is None:
        return None
    source, rung = due
    attrs = {"rung": rung.name, "promoted_from": source.number}
    if "starting_point" in source.user_attrs:
        attrs["starting_point"] = source.user_attrs["starting_point"]
    study.enqueue_trial(source.params, user_attrs=attrs)
    return source


def duplicate_climb(trial, trials) -> bool:
    """Whether an earlier live trial already makes the same climb (two workers queued it at once)."""
    key = promotion_key(trial)
    return key is not None and any(t.number < trial.number and t.state != TrialState.FAIL and promotion_key(t) == key
                                   for t in trials)


def search_gain(trials) -> dict:
    """What the sampler found beyond the starting points, at the highest rung both reached: the best
    of each (value, trial number), the gain in points and the error ratio; the sampled draws, how
    many stopped at their first rung and how many are in the study's top 3."""
    complete = ranked(trials)
    draws = [t for t in trials if t.state in FINISHED and is_sampled(t) and "promoted_from" not in t.user_attrs]
    climbed = {t.user_attrs["promoted_from"] for t in trials if "promoted_from" in t.user_attrs}
    top3 = distinct(complete)[:3]
    gain = {"draws": len(draws), "stopped_first_rung": sum(t.number not in climbed for t in draws),
            "draws_in_top3": sum(is_sampled(t) for t in top3), "rung": None, "sampled": None, "start": None}
    for rung in reversed(RUNGS):
        at_rung = [t for t in complete if rung_of(t) == rung]
        sampled = next((t for t in at_rung if is_sampled(t)), None)
        start = next((t for t in at_rung if not is_sampled(t)), None)
        if sampled and start:
            gain.update(rung=rung, sampled=(sampled.value, sampled.number), start=(start.value, start.number),
                        points=round(100 * (sampled.value - start.value), 2),
                        error_ratio=round((1 - sampled.value) / max(1 - start.value, 1e-9), 3))
            break
    return gain


def distinct(trials) -> list:
    """Trials with one entry per config (a climb and its source are one config: the higher rung kept)."""
    by_number = {t.number: t for t in trials}
    seen, kept = set(), []
    for trial in trials:
        origin = trial.number
        while origin in by_number and "promoted_from" in by_number[origin].user_attrs:
            origin = by_number[origin].user_attrs["promoted_from"]
        if origin not in seen:
            seen.add(origin)
            kept.append(trial)
    return kept


def gain_line(gain: dict) -> str:
    """The search's gain in one line, for `tune start`, `tune status` and the study summary."""
    draws = (f"{gain['draws']} sampled draws: {gain['stopped_first_rung']} stopped at their first rung, "
             f"{gain['draws_in_top3']} in the top 3")
    if gain["rung"] is None:
        return f"search gain: not yet measured (no sampled config and starting point at one rung); {draws}"
    (sampled, s_number), (start, b_number) = gain["sampled"], gain["start"]
    return (f"search gain at the {gain['rung']} rung: best sampled #{s_number} {sampled:.4f} vs best starting "
            f"point #{b_number} {start:.4f}: {gain['points']:+.2f} pt, error {gain['error_ratio']:.2f}x; {draws}")
