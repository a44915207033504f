//! Adaptive group testing: which of many candidate values keys, when changed, change a
//! finding. A probe changes a group of keys at once and re-renders; a finding the group
//! leaves untouched clears every key of the group in one render, one it changes splits the
//! group in halves until single keys remain. A probe whose changed keys can be told apart
//! in the output (unique markers) attributes them at once. Probes are shared by every
//! finding of a render and bounded by a budget.

use std::collections::{BTreeSet, VecDeque};

/// What one probe did to one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not changed by any key of the group.
    Unaffected,
    /// Changed by at least one key of the group.
    Affected,
    /// Changed, and these keys (of the group) are seen to have done it.
    Attributed(Vec<usize>),
    /// Cannot tell (the render failed, or the change took the whole object away).
    Inconclusive,
}

/// Judges what a probe (`None`: the render failed) did to finding `f`, given the keys of the
/// probe's group that are still candidates for it.
pub type Judge<'a, P> = dyn FnMut(usize, Option<&P>, &[usize]) -> Outcome + 'a;

/// The proven keys of each finding, and the number of probes run.
pub struct Proven {
    pub keys: Vec<Vec<usize>>,
    pub probes: usize,
}

/// `candidates[f]`: the keys (indices) that may have produced finding `f`. `probe(keys)`
/// re-renders with those keys changed; `judge(f, probe, keys)` says what that did to `f`.
pub fn group_test<P>(
    candidates: &[Vec<usize>],
    budget: usize,
    probe: &mut dyn FnMut(&[usize]) -> Option<P>,
    judge: &mut Judge<'_, P>,
) -> Proven {
    let mut active: Vec<BTreeSet<usize>> = candidates
        .iter()
        .map(|c| c.iter().copied().collect())
        .collect();
    let mut proven: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
    let all: BTreeSet<usize> = active.iter().flatten().copied().collect();
    let mut queue: VecDeque<Vec<usize>> = VecDeque::new();
    if !all.is_empty() {
        queue.push_back(all.into_iter().collect());
    }
    let mut probes = 0;
    while let Some(group) = queue.pop_front() {
        let relevant: Vec<usize> = (0..candidates.len())
            .filter(|f| proven[*f].is_empty() && group.iter().any(|k| active[*f].contains(k)))
            .collect();
        if relevant.is_empty() {
            continue;
        }
        if probes >= budget {
            break;
        }
        probes += 1;
        let result = probe(&group);
        let mut split: BTreeSet<usize> = BTreeSet::new();
        for f in relevant {
            let sub: Vec<usize> = group
                .iter()
                .copied()
                .filter(|k| active[f].contains(k))
                .collect();
            match judge(f, result.as_ref(), &sub) {
                Outcome::Unaffected => sub.iter().for_each(|k| {
                    active[f].remove(k);
                }),
                Outcome::Attributed(keys) => {
                    proven[f] = keys.into_iter().filter(|k| sub.contains(k)).collect();
                    if proven[f].is_empty() {
                        split.extend(sub);
                    }
                }
                Outcome::Affected if sub.len() == 1 => proven[f] = sub,
                Outcome::Inconclusive if sub.len() == 1 => {
                    active[f].remove(&sub[0]);
                }
                Outcome::Affected | Outcome::Inconclusive => split.extend(sub),
            }
        }
        if split.len() > 1 {
            let keys: Vec<usize> = split.into_iter().collect();
            let (a, b) = keys.split_at(keys.len() / 2);
            queue.push_back(a.to_vec());
            queue.push_back(b.to_vec());
        } else if split.len() == 1 {
            queue.push_back(split.into_iter().collect());
        }
    }
    Proven {
        keys: proven,
        probes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding f is changed exactly by the keys in `causes[f]`.
    fn run(causes: &[&[usize]], candidates: &[Vec<usize>], budget: usize) -> Proven {
        let mut probe = |keys: &[usize]| Some(keys.to_vec());
        let mut judge = |f: usize, p: Option<&Vec<usize>>, _: &[usize]| match p {
            Some(changed) if changed.iter().any(|k| causes[f].contains(k)) => Outcome::Affected,
            Some(_) => Outcome::Unaffected,
            None => Outcome::Inconclusive,
        };
        group_test(candidates, budget, &mut probe, &mut judge)
    }

    #[test]
    fn one_probe_clears_every_innocent_key() {
        let proven = run(&[&[]], &[vec![0, 1, 2, 3, 4, 5, 6, 7]], 50);
        assert_eq!(proven.keys, vec![Vec::<usize>::new()]);
        assert_eq!(proven.probes, 1);
    }

    #[test]
    fn the_cause_is_found_by_halving() {
        let proven = run(
            &[&[5], &[1]],
            &[vec![0, 1, 2, 3, 4, 5, 6, 7], vec![1, 2]],
            50,
        );
        assert_eq!(proven.keys, vec![vec![5], vec![1]]);
        assert!(proven.probes <= 8, "{}", proven.probes);
    }

    #[test]
    fn the_budget_stops_probing() {
        let proven = run(&[&[7]], &[vec![0, 1, 2, 3, 4, 5, 6, 7]], 2);
        assert_eq!(proven.probes, 2);
        assert_eq!(proven.keys, vec![Vec::<usize>::new()]);
    }

    #[test]
    fn markers_attribute_without_splitting() {
        let mut probe = |keys: &[usize]| Some(keys.to_vec());
        let mut judge =
            |_: usize, _: Option<&Vec<usize>>, _: &[usize]| Outcome::Attributed(vec![2]);
        let proven = group_test(&[vec![1, 2, 3]], 10, &mut probe, &mut judge);
        assert_eq!((proven.keys, proven.probes), (vec![vec![2]], 1));
    }
}
