"""The peer protocol behind scripts/bench-peers.sh: does a feature set help LightGBM on rows
the feature search never saw?

For each dataset, 5 folds (stratified on the class, or on deciles of a numeric target,
shuffled with seed 0). On each fold:

- baseline: LightGBM (200 trees, seed 0, otherwise its defaults) on the raw columns of the
  training fold, scored on the test fold;
- flow: `flow init` and `flow run` (the search budget in seconds) on the training fold only;
  `flow apply` of the run's best set to both folds; LightGBM on what apply wrote (the
  pipeline's base columns and the features — the base columns alone when the run's own
  held-out rows, a fifth of the training fold, did not confirm the features);
- OpenFE: fitted on the training fold with its defaults; its ten best features (as in its
  README's examples) added to both folds by its `transform`; LightGBM on the result.

Strings become pandas categories (LightGBM's native categorical splits) and dates their day
number, the same way for all three. A Δ is positive when the features helped: for RMSE the
relative reduction in %, for AUC the change in AUC points (× 100). Wall time is per fold:
flow's init + run + both applies, OpenFE's fit + transform.

OpenFE's result on a fold does not depend on flow, so it is kept in the fold's work folder
(`openfe.json`) and reused by later runs with the same OpenFE version; `--fresh-openfe`
runs it again.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import StratifiedKFold

# dataset file stem → (target column, task)
DATASETS = {
    "bikeshare": ("bikers", "regression"),
    "breast_cancer": ("benign", "classification"),
    "diabetes": ("progression", "regression"),
    "diamonds": ("price", "regression"),
    "seattle_weather": ("weather", "classification"),
}
FOLDS = 5
TREES = 200
OPENFE_FEATURES = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", required=True, help="the flow binary")
    parser.add_argument("--data", required=True, help="the folder of the datasets")
    parser.add_argument("--work", required=True, help="a folder for work files")
    parser.add_argument("--budget", type=int, default=120, help="flow's search seconds per fold")
    parser.add_argument("--table", required=True, help="the Markdown file to write")
    parser.add_argument("--folds", type=int, default=FOLDS, help="how many folds to run (≤ 5)")
    parser.add_argument("--skip-openfe", action="store_true", help="run flow only")
    parser.add_argument("--fresh-openfe", action="store_true",
                        help="run OpenFE again instead of reusing a fold's stored result")
    parser.add_argument("datasets", nargs="*", help="dataset names (default: all)")
    args = parser.parse_args()

    names = args.datasets or list(DATASETS)
    rows = []
    for name in names:
        if name not in DATASETS:
            sys.exit(f"unknown dataset `{name}`; known: {', '.join(DATASETS)}")
        path = Path(args.data) / f"{name}.csv"
        if not path.exists():
            print(f"skipped {name}: {path} is absent", file=sys.stderr)
            continue
        rows.append(run_dataset(name, path, args))
    Path(args.table).write_text(render_table(rows, args))
    print(Path(args.table).read_text())


def run_dataset(name, path, args):
    target, task = DATASETS[name]
    frame = pd.read_csv(path)
    y = frame[target]
    strata = y if task == "classification" else pd.qcut(y, 10, labels=False, duplicates="drop")
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    folds = []
    for fold, (train_rows, test_rows) in enumerate(splitter.split(frame, strata)):
        if fold >= args.folds:
            break
        work = (Path(args.work) / name / f"fold{fold}").resolve()
        work.mkdir(parents=True, exist_ok=True)
        train, test = frame.iloc[train_rows], frame.iloc[test_rows]
        train.to_csv(work / "train.csv", index=False)
        test.to_csv(work / "test.csv", index=False)
        result = {"fold": fold}
        result["baseline"] = score_lightgbm(
            train.drop(columns=[target]), train[target], test.drop(columns=[target]),
            test[target], task)
        result.update(run_flow(name, target, task, work, args))
        if not args.skip_openfe:
            result.update(openfe_result(train, test, target, task, work, args))
        print(f"{name} fold {fold}: {json.dumps(result)}", file=sys.stderr)
        folds.append(result)
    (Path(args.work) / name / "folds.json").write_text(json.dumps(folds, indent=1))
    return {"name": name, "task": task, "rows": len(frame), "folds": folds}


def run_flow(name, target, task, work, args):
    flow_dir = work / "flow"
    results = flow_dir / "results"
    shutil.rmtree(results, ignore_errors=True)
    started = time.monotonic()
    run([args.flow, "init", str(flow_dir), "--dataset", str(work / "train.csv"),
         "--target", target, "--name", name, "--force"])
    run([args.flow, "run", str(flow_dir / "pipeline.kdl"), "--quiet", "--force",
         "-S", f"search.time-limit={args.budget}s", "-S", "search.iterations=1000000",
         "-S", f"output={results}"])
    for part in ("train", "test"):
        run([args.flow, "apply", str(results), "--input", str(work / f"{part}.csv"),
             "-o", str(work / f"flow_{part}.parquet")])
    seconds = time.monotonic() - started
    runs = run([args.flow, "runs", str(results), "--format", "json"]).splitlines()
    latest = json.loads(runs[-1]) if runs else {}
    train = pd.read_parquet(work / "flow_train.parquet")
    test = pd.read_parquet(work / "flow_test.parquet")
    added = [c for c in train.columns if c not in pd.read_csv(work / "train.csv", nrows=1).columns]
    score = score_lightgbm(train.drop(columns=[target]), train[target],
                           test.drop(columns=[target]), test[target], task)
    return {"flow": score, "flow_seconds": seconds, "flow_features": added,
            "flow_evaluations": latest.get("evaluations"),
            # apply gives engineered features only when the held-out rows confirmed them.
            "flow_confirmed": bool(added),
            "flow_model": model_of(flow_dir / "pipeline.kdl"),
            "flow_cv_uplift": percent(latest.get("uplift")),
            "flow_held_out_uplift": percent(latest.get("confirm_uplift"))}


def percent(fraction):
    """A stored uplift (a fraction, or None) in percent, as `flow runs` shows it."""
    return None if fraction is None else round(fraction * 100, 2)


def openfe_result(train, test, target, task, work, args):
    """OpenFE on this fold: the stored result of an earlier run with the same OpenFE and
    training rows, or a new one (then stored)."""
    from importlib.metadata import version

    stored = work / "openfe.json"
    key = {"openfe_version": version("openfe"), "train_rows": len(train),
           "train_sum": float(train.select_dtypes("number").to_numpy().sum())}
    if stored.exists() and not args.fresh_openfe:
        earlier = json.loads(stored.read_text())
        if earlier.get("key") == key:
            return earlier["result"]
    result = run_openfe(train, test, target, task, work)
    stored.write_text(json.dumps({"key": key, "result": result}))
    return result


def run_openfe(train, test, target, task, work):
    from openfe import OpenFE, transform

    train_x, test_x = train.drop(columns=[target]), test.drop(columns=[target])
    train_x, test_x = readable(train_x), readable(test_x)
    categorical = [c for c in train_x.columns if str(train_x[c].dtype) == "category"]
    started = time.monotonic()
    # OpenFE's `transform` writes its temporary file to the working directory.
    with contextlib.chdir(work):
        features = OpenFE().fit(
            data=train_x, label=train[[target]], task=task, categorical_features=categorical,
            n_jobs=os.cpu_count() or 1, seed=0, verbose=False,
            tmp_save_path=str(work / "openfe_tmp.feather"))
        new_train, new_test = transform(train_x, test_x, features[:OPENFE_FEATURES],
                                        n_jobs=os.cpu_count() or 1)
    seconds = time.monotonic() - started
    score = score_lightgbm(new_train, train[target], new_test, test[target], task)
    return {"openfe": score, "openfe_seconds": seconds}


def readable(x):
    """Strings as categories, ISO dates as day numbers, for LightGBM (and OpenFE)."""
    x = x.copy()
    for column in x.columns:
        values = x[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            x[column] = values.astype("int64") // 86_400_000_000_000
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            dates = pd.to_datetime(values, errors="coerce", format="ISO8601")
            if dates.notna().mean() > 0.99:
                x[column] = dates.astype("int64") // 86_400_000_000_000
            else:
                x[column] = values.astype("category")
    return x


def score_lightgbm(train_x, train_y, test_x, test_y, task):
    train_x, test_x = readable(train_x), readable(test_x)
    # One set of category levels for both parts, so codes mean the same thing.
    for column in train_x.columns:
        if str(train_x[column].dtype) == "category":
            levels = pd.api.types.union_categoricals(
                [train_x[column], test_x[column].astype("category")]).categories
            train_x[column] = pd.Categorical(train_x[column], categories=levels)
            test_x[column] = pd.Categorical(test_x[column], categories=levels)
    # LightGBM refuses JSON's special characters in names, and flow's names are formulas.
    train_x.columns = test_x.columns = [f"x{i}" for i in range(train_x.shape[1])]
    settings = dict(n_estimators=TREES, random_state=0, verbose=-1, n_jobs=os.cpu_count() or 1)
    if task == "regression":
        model = lgb.LGBMRegressor(**settings).fit(train_x, train_y)
        return float(np.sqrt(mean_squared_error(test_y, model.predict(test_x))))
    model = lgb.LGBMClassifier(**settings).fit(train_x, train_y.astype(str))
    probabilities = model.predict_proba(test_x)
    truth = test_y.astype(str)
    if probabilities.shape[1] == 2:
        return float(roc_auc_score(truth == model.classes_[1], probabilities[:, 1]))
    return float(roc_auc_score(truth, probabilities, multi_class="ovr", labels=model.classes_))


def model_of(pipeline):
    for line in pipeline.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "model":
            return words[1].strip('"')
    return "?"


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def delta(task, baseline, value):
    """Positive when better: relative RMSE reduction in %, or AUC points."""
    if task == "regression":
        return (baseline - value) / baseline * 100
    return (value - baseline) * 100


def spread(values):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:+.2f} ± {std:.2f}"


def render_table(datasets, args):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cpu = platform.processor() or platform.machine()
    lines = [
        f"Measured at commit `{commit}` on {os.cpu_count()} cores ({cpu}), "
        f"`scripts/bench-peers.sh {args.budget}`: flow searches {args.budget} s per fold; "
        f"{args.folds} of 5 folds. Δ is positive when the features helped LightGBM on the "
        "test fold: relative RMSE reduction in %, or AUC points (× 100); mean ± standard "
        "deviation over folds. *confirmed*: folds whose held-out rows (a fifth of the training "
        "fold, which flow's search never saw) confirmed the features; on the others flow gave "
        "the base columns alone. Times are per fold.",
        "",
        "| dataset | rows | metric | baseline | flow Δ | OpenFE Δ | flow model in the loop "
        "| confirmed | flow features | flow evaluations | flow s | OpenFE s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in datasets:
        folds, task = d["folds"], d["task"]
        metric = "RMSE" if task == "regression" else "AUC"
        baseline = statistics.mean(f["baseline"] for f in folds)
        flow = spread([delta(task, f["baseline"], f["flow"]) for f in folds])
        openfe = ("—" if "openfe" not in folds[0]
                  else spread([delta(task, f["baseline"], f["openfe"]) for f in folds]))
        features = statistics.mean(len(f["flow_features"]) for f in folds)
        confirmed = sum(1 for f in folds if f.get("flow_confirmed"))
        evaluations = statistics.mean(f.get("flow_evaluations") or 0 for f in folds)
        flow_s = statistics.mean(f["flow_seconds"] for f in folds)
        openfe_s = ("—" if "openfe" not in folds[0]
                    else f"{statistics.mean(f['openfe_seconds'] for f in folds):.0f}")
        lines.append(
            f"| {d['name']} | {d['rows']} | {metric} | {baseline:.4g} | {flow} | {openfe} "
            f"| {folds[0]['flow_model']} | {confirmed}/{len(folds)} | {features:.1f} "
            f"| {evaluations:.0f} | {flow_s:.0f} | {openfe_s} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
