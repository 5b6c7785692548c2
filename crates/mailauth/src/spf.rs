//! SPF (RFC 7208) with the two rules mail-auth leaves to its caller: the
//! void-lookup limit (4.6.4) and "more than one record" (4.5).

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};

use mail_auth::spf::verify::SpfParameters;
use mail_auth::{MessageAuthenticator, Parameters, ResolverCache, SpfOutput, SpfResult};

/// RFC 7208 4.6.4: more than two lookups returning no answer or NXDOMAIN
/// make the evaluation a permerror.
const VOID_LIMIT: usize = 2;

/// RFC 7208 4.6.4: "at least 20 seconds" for the whole evaluation.
const EVALUATION_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A "cache" that never answers and only counts: each miss is a DNS query
/// mail-auth then makes, and each insert is one that found records. A
/// query that found nothing (void, or an error that ends the evaluation
/// anyway) is a miss without an insert.
#[derive(Default)]
struct QueryCounter {
    queries: AtomicUsize,
    answered: AtomicUsize,
}

impl<K, V> ResolverCache<K, V> for QueryCounter {
    fn get<Q>(&self, _name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.queries.fetch_add(1, Ordering::Relaxed);
        None
    }

    fn remove<Q>(&self, _name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _key: K, _value: V, _valid_until: std::time::Instant) {
        self.answered.fetch_add(1, Ordering::Relaxed);
    }
}

impl QueryCounter {
    fn void(&self) -> usize {
        self.queries
            .load(Ordering::Relaxed)
            .saturating_sub(self.answered.load(Ordering::Relaxed))
    }
}

/// Evaluate SPF for the identity whose domain is `domain`.
pub(crate) async fn verify(
    auth: &MessageAuthenticator,
    params: SpfParameters<'_>,
    domain: &str,
) -> SpfOutput {
    let counter = QueryCounter::default();
    let evaluation = auth.verify_spf(
        Parameters::new(params)
            .with_txt_cache(&counter)
            .with_mx_cache(&counter)
            .with_ptr_cache(&counter)
            .with_ipv4_cache(&counter)
            .with_ipv6_cache(&counter),
    );
    // RFC 7208 4.6.4: bound the whole evaluation in time too.
    let Ok(out) = tokio::time::timeout(EVALUATION_LIMIT, evaluation).await else {
        return SpfOutput::new(domain.to_string()).with_result(SpfResult::TempError);
    };
    let permerror = || SpfOutput::new(out.domain().to_string()).with_result(SpfResult::PermError);
    // Evaluation stops at the first match, so counting the void lookups it
    // made is the same as stopping at the third one. A domain without any
    // record ("none") made one void query and ended there.
    if matches!(
        out.result(),
        SpfResult::TempError | SpfResult::PermError | SpfResult::None
    ) {
        return out;
    }
    if counter.void() > VOID_LIMIT {
        return permerror();
    }
    if crate::dns::spf_records(auth, domain).await > 1 {
        return permerror();
    }
    out
}
