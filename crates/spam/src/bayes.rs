//! The classifier's arithmetic, apart from any storage: Robinson's token
//! probabilities combined by Fisher's method (the chi-square combining of
//! SpamBayes). The result is the probability that a message is spam, from
//! its most telling tokens only, so that a long message of neutral words
//! does not drown the few that matter.

/// How often a token was seen in mail trained as spam and as ham.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub spam: u64,
    pub ham: u64,
}

/// How many messages a model was trained with, of each kind.
pub type Totals = Counts;

/// `(spam, ham)`, as the store keeps them.
impl From<(u64, u64)> for Counts {
    fn from((spam, ham): (u64, u64)) -> Counts {
        Counts { spam, ham }
    }
}

/// Tokens farther than this from 0.5 count.
const MIN_DEVIATION: f64 = 0.1;
/// At most this many tokens decide.
const MAX_INTERESTING: usize = 150;
/// Robinson's prior: an unseen token is neither, with this weight.
const STRENGTH: f64 = 1.0;
const PRIOR: f64 = 0.5;

/// Has a model seen enough of both kinds to judge? The one rule: SMTP
/// judges with a model only when it holds, and `tern spam status` says
/// "judges" by it.
pub fn ready(t: Totals, min: u64) -> bool {
    t.spam >= min && t.ham >= min
}

/// Robinson's f(w): how spammy one token is, pulled toward 0.5 while it
/// has been seen only a few times.
fn token(c: Counts, t: Totals) -> f64 {
    let s = (c.spam as f64 / t.spam.max(1) as f64).min(1.0);
    let h = (c.ham as f64 / t.ham.max(1) as f64).min(1.0);
    if s + h == 0.0 {
        return PRIOR;
    }
    let p = s / (s + h);
    let n = (c.spam + c.ham) as f64;
    (STRENGTH * PRIOR + n * p) / (STRENGTH + n)
}

/// The chi-square survival function for `v` (even) degrees of freedom.
fn chi2q(x2: f64, v: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..v / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// The probability (0..=1) that a message with these token counts is
/// spam, for a model trained on `t`. 0.5 when no token says anything.
pub fn score(counts: impl IntoIterator<Item = Counts>, t: Totals) -> f64 {
    let mut probs: Vec<f64> = counts
        .into_iter()
        .map(|c| token(c, t))
        .filter(|p| (p - 0.5).abs() >= MIN_DEVIATION)
        .collect();
    if probs.is_empty() {
        return 0.5;
    }
    probs.sort_by(|a, b| {
        (b - 0.5)
            .abs()
            .partial_cmp(&(a - 0.5).abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    probs.truncate(MAX_INTERESTING);
    let n = probs.len();
    let (mut ln_spam, mut ln_ham) = (0.0, 0.0);
    for p in &probs {
        let p = p.clamp(1e-9, 1.0 - 1e-9);
        ln_spam += (1.0 - p).ln();
        ln_ham += p.ln();
    }
    let s = 1.0 - chi2q(-2.0 * ln_spam, 2 * n);
    let h = 1.0 - chi2q(-2.0 * ln_ham, 2 * n);
    ((s - h + 1.0) / 2.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Totals = Counts {
        spam: 100,
        ham: 100,
    };

    #[test]
    fn spammy_tokens_score_high_and_hammy_low() {
        let spammy = vec![Counts { spam: 90, ham: 1 }; 20];
        let hammy = vec![Counts { spam: 1, ham: 90 }; 20];
        assert!(score(spammy, T) > 0.99);
        assert!(score(hammy, T) < 0.01);
        assert_eq!(score(Vec::new(), T), 0.5);
        let neutral = vec![Counts { spam: 50, ham: 50 }; 20];
        assert_eq!(score(neutral, T), 0.5, "no token tells");
    }

    #[test]
    fn a_token_seen_once_says_little() {
        assert!((token(Counts { spam: 1, ham: 0 }, T) - 0.75).abs() < 1e-9);
        assert!(token(Counts { spam: 50, ham: 0 }, T) > 0.98);
    }

    #[test]
    fn a_mixed_message_is_unsure() {
        let mut c = vec![Counts { spam: 90, ham: 1 }; 10];
        c.extend(vec![Counts { spam: 1, ham: 90 }; 10]);
        let s = score(c, T);
        assert!((0.3..0.7).contains(&s), "{s}");
    }

    #[test]
    fn the_chi_square_tail_is_right() {
        // chi2 with 2 degrees of freedom: Q(x) = exp(-x/2).
        assert!((chi2q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
        assert!((chi2q(0.0, 10) - 1.0).abs() < 1e-12);
        assert!(chi2q(1e6, 300) < 1e-100);
    }

    #[test]
    fn readiness_needs_both_kinds() {
        assert!(!ready(Counts { spam: 50, ham: 3 }, 10));
        assert!(ready(Counts { spam: 10, ham: 10 }, 10));
    }
}
