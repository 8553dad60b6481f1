//! Classification metrics. Callers guarantee equal, non-zero lengths, class indices in range
//! and probabilities of shape rows × classes.

use ndarray::{ArrayView1, ArrayView2};

use crate::eval::EvalError;

/// Share of rows whose predicted label is the true one.
pub fn accuracy(truth: ArrayView1<usize>, predicted: ArrayView1<usize>) -> f64 {
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    correct as f64 / truth.len() as f64
}

/// F1 of class 1 for two classes; for more, the unweighted mean F1 over the classes present
/// in the truth or the prediction (classes absent from both carry no information and are
/// skipped, as scikit-learn does). A class never predicted nor true scores 0 when asked for.
pub fn f1(truth: ArrayView1<usize>, predicted: ArrayView1<usize>, classes: usize) -> f64 {
    // Per class: true positives, predicted count, true count.
    let mut counts = vec![(0usize, 0usize, 0usize); classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        counts[p].1 += 1;
        counts[t].2 += 1;
        if t == p {
            counts[t].0 += 1;
        }
    }
    let f1_of = |(tp, predicted, actual): (usize, usize, usize)| {
        if predicted + actual == 0 {
            0.0
        } else {
            2.0 * tp as f64 / (predicted + actual) as f64
        }
    };
    if classes == 2 {
        return f1_of(counts[1]);
    }
    let present: Vec<f64> = counts
        .into_iter()
        .filter(|&(_, predicted, actual)| predicted + actual > 0)
        .map(f1_of)
        .collect();
    present.iter().sum::<f64>() / present.len() as f64
}

/// Area under the ROC curve. Two classes: AUC of class 1's probability. More: the unweighted
/// mean of one-vs-rest AUCs over the classes present in the fold. Undefined, and an error,
/// when the fold holds a single class.
pub fn auc(
    truth: ArrayView1<usize>,
    probabilities: ArrayView2<f64>,
    classes: &[String],
) -> Result<f64, EvalError> {
    let mut present: Vec<usize> = truth.to_vec();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        let only = present.first().map_or("none", |&c| classes[c].as_str());
        return Err(EvalError::Invalid(format!(
            "AUC is undefined on a validation fold that holds only class `{only}`; use \
             `cv \"stratified\"` so that every fold holds every class"
        )));
    }
    let one_vs_rest = |class: usize| {
        let positive: Vec<bool> = truth.iter().map(|&t| t == class).collect();
        binary_auc(&positive, probabilities.column(class))
    };
    if classes.len() == 2 {
        return Ok(one_vs_rest(1));
    }
    let total: f64 = present.iter().map(|&c| one_vs_rest(c)).sum();
    Ok(total / present.len() as f64)
}

/// The Mann–Whitney statistic: the chance that a random positive scores above a random
/// negative, ties counting half (average ranks). Needs both kinds of rows.
fn binary_auc(positive: &[bool], scores: ArrayView1<f64>) -> f64 {
    let mut order: Vec<usize> = (0..positive.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks are 1-based; the tied rows start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&r| positive[r]).count();
        positive_rank_sum += rank * tied_positives as f64;
        start = end;
    }
    let positives = positive.iter().filter(|&&p| p).count() as f64;
    let negatives = positive.len() as f64 - positives;
    (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Mean of −ln p(true class), with p clipped to [1e-15, 1 − 1e-15] so that one confident
/// mistake costs a lot but not infinity.
pub fn log_loss(truth: ArrayView1<usize>, probabilities: ArrayView2<f64>) -> f64 {
    const EPS: f64 = 1e-15;
    let total: f64 = truth
        .iter()
        .enumerate()
        .map(|(row, &t)| -probabilities[[row, t]].clamp(EPS, 1.0 - EPS).ln())
        .sum();
    total / truth.len() as f64
}

/// Mean over rows of 1/rank of the true class when it is within the top `k` classes by
/// probability (ties ranked by lower class index), else 0. With one true class per row this
/// is the mean average precision at `k`.
pub fn map_at_k(truth: ArrayView1<usize>, probabilities: ArrayView2<f64>, k: usize) -> f64 {
    let total: f64 = truth
        .iter()
        .zip(probabilities.rows())
        .map(|(&t, row)| {
            let p = row[t];
            let ahead = row
                .iter()
                .enumerate()
                .filter(|&(c, &q)| q > p || (q == p && c < t))
                .count();
            let rank = ahead + 1;
            if rank <= k { 1.0 / rank as f64 } else { 0.0 }
        })
        .sum();
    total / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::eval::{Prediction, Target, metrics::score};
    use flow_dsl::Metric;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|c| format!("c{c}")).collect()
    }

    #[test]
    fn hand_worked_accuracy_and_f1() {
        let truth = array![0, 1, 1, 0, 1];
        let predicted = array![0, 1, 0, 1, 1];
        assert_eq!(accuracy(truth.view(), predicted.view()), 0.6);
        // Class 1: tp 2, predicted 3, true 3 → 4/6.
        close(f1(truth.view(), predicted.view(), 2), 2.0 / 3.0);
        // Class 3 of 4 is absent from both sides and skipped; class 1 scores 0.
        let truth = array![0, 0, 2, 2];
        let predicted = array![0, 1, 2, 0];
        // Class 0: tp 1, p 2, t 2 → 0.5; class 1: 0; class 2: tp 1, p 1, t 2 → 2/3.
        close(
            f1(truth.view(), predicted.view(), 4),
            (0.5 + 0.0 + 2.0 / 3.0) / 3.0,
        );
        // Binary with the positive class nowhere: 0.
        assert_eq!(f1(array![0, 0].view(), array![0, 0].view(), 2), 0.0);
    }

    #[test]
    fn hand_worked_auc_counts_ties_as_half() {
        let truth = array![0, 0, 1, 1];
        let p = array![[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]];
        // Pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 → 3/4.
        close(
            auc(truth.view(), p.view(), &names(2)).expect("two classes"),
            0.75,
        );
        let tied = array![[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]];
        close(
            auc(truth.view(), tied.view(), &names(2)).expect("two classes"),
            0.5,
        );
    }

    #[test]
    fn auc_of_a_single_class_fold_is_undefined() {
        let classes = vec!["cat".to_owned(), "dog".to_owned()];
        let p = array![[0.3, 0.7], [0.6, 0.4]];
        let err = auc(array![1, 1].view(), p.view(), &classes);
        let Err(EvalError::Invalid(message)) = err else {
            panic!("{err:?}")
        };
        assert!(message.contains("only class `dog`") && message.contains("stratified"));
    }

    #[test]
    fn multiclass_auc_averages_over_the_classes_present() {
        // Class 2 (of 3) is absent: the mean is over classes 0 and 1, each separated perfectly.
        let truth = array![0, 1, 0, 1];
        let p = array![
            [0.8, 0.1, 0.1],
            [0.1, 0.6, 0.3],
            [0.7, 0.2, 0.1],
            [0.3, 0.5, 0.2]
        ];
        close(
            auc(truth.view(), p.view(), &names(3)).expect("two present"),
            1.0,
        );
    }

    #[test]
    fn hand_worked_log_loss_and_map() {
        let truth = array![0, 1];
        let p = array![[0.5, 0.5], [0.0, 1.0]];
        close(
            log_loss(truth.view(), p.view()),
            (2.0f64.ln() + -(1.0 - 1e-15f64).ln()) / 2.0,
        );
        close(
            log_loss(array![0].view(), array![[0.0, 1.0]].view()),
            -(1e-15f64).ln(),
        );
        let truth = array![2, 0, 1];
        let p = array![[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]];
        // Ranks 1; 2 (0.4 first, then the 0.3 tie goes to class 0); 2.
        close(map_at_k(truth.view(), p.view(), 3), (1.0 + 0.5 + 0.5) / 3.0);
        close(map_at_k(truth.view(), p.view(), 1), 1.0 / 3.0);
    }

    fn binary_reference() -> (Target, Prediction) {
        let truth = Target::Classification {
            labels: array![0, 1, 1, 0, 1, 0, 1, 1, 0, 0],
            classes: vec!["neg".into(), "pos".into()],
        };
        let p1 = [0.1, 0.8, 0.65, 0.3, 0.35, 0.5, 0.9, 0.5, 0.2, 0.65];
        let probabilities =
            Array2::from_shape_fn((10, 2), |(r, c)| if c == 1 { p1[r] } else { 1.0 - p1[r] });
        (truth, Prediction::from_probabilities(probabilities))
    }

    fn multiclass_reference() -> (Target, Prediction) {
        let truth = Target::Classification {
            labels: array![0, 1, 2, 2, 1, 0, 2, 1],
            classes: names(3),
        };
        let probabilities = array![
            [0.7, 0.2, 0.1],
            [0.3, 0.4, 0.3],
            [0.2, 0.5, 0.3],
            [0.1, 0.3, 0.6],
            [0.5, 0.3, 0.2],
            [0.2, 0.3, 0.5],
            [0.3, 0.3, 0.4],
            [0.25, 0.6, 0.15]
        ];
        (truth, Prediction::from_probabilities(probabilities))
    }

    #[test]
    fn binary_metrics_match_scikit_learn() {
        // Reference values from scikit-learn 1.9.1 on these inputs: hard labels are
        // p1 > 0.5 ([0,1,1,0,0,0,1,0,0,1]); accuracy_score, f1_score, roc_auc_score(y, p1),
        // log_loss(y, [1 - p1, p1]).
        let (truth, prediction) = binary_reference();
        let Prediction::Classes { labels, .. } = &prediction else {
            unreachable!()
        };
        assert_eq!(labels, array![0, 1, 1, 0, 0, 0, 1, 0, 0, 1]);
        let s = |m| score(m, &truth, &prediction).expect("valid");
        close(s(Metric::Accuracy), 0.7);
        close(s(Metric::F1), 0.6666666666666666);
        close(s(Metric::Auc), 0.8400000000000001);
        close(s(Metric::LogLoss), 0.49304046040925054);
    }

    #[test]
    fn multiclass_metrics_match_scikit_learn() {
        // Reference values from scikit-learn 1.9.1 on these inputs: accuracy_score,
        // f1_score(average="macro"), roc_auc_score(multi_class="ovr", average="macro"),
        // log_loss, and label_ranking_average_precision_score on the one-hot truth, which
        // equals MAP@K for k ≥ the number of classes when the true class ties with none.
        let (truth, prediction) = multiclass_reference();
        let s = |m| score(m, &truth, &prediction).expect("valid");
        close(s(Metric::Accuracy), 0.625);
        close(s(Metric::F1), 0.611111111111111);
        close(s(Metric::Auc), 0.7416666666666666);
        close(s(Metric::LogLoss), 0.9035363970381245);
        close(s(Metric::MapAtK(3)), 0.7916666666666666);
        // By hand: ranks 1,1,2,1,2,3,1,1 → at k=2 the rank-3 row scores 0.
        close(s(Metric::MapAtK(2)), 6.0 / 8.0);
    }
}
