//! The cache of computed feature columns, bounded in bytes: least recently used columns are
//! evicted when it outgrows its budget or the session's memory pool refuses it more. A
//! column evicted is computed again when needed (same SQL, same values), so the bound
//! changes how much the search recomputes, never what it finds. Columns used in the current
//! round (one expansion and the scoring of its children) are never evicted, and failures
//! (a few bytes of text each) are kept for the whole run so failing SQL is never drawn
//! again.

use std::collections::{BTreeMap, HashMap};

use std::sync::Arc;

use datafusion::execution::memory_pool::{MemoryLimit, MemoryPool, MemoryReservation};

use super::column::ModelColumn;

/// The most the cache takes, whatever the memory limit: a search touches a few thousand
/// columns, so on a small table this is never reached, and a machine's default limit
/// (three quarters of its memory) does not turn into gigabytes of cached columns.
pub const MAX_BUDGET: usize = 1 << 30;

/// The share of a memory limit the cache may take. The rest is for what the pool cannot
/// see: the process itself (code, runtime, threads; about 150 MiB) and memory the
/// allocator has not handed back yet (docs/benchmarks.md, "Memory").
pub const LIMIT_SHARE: f64 = 1.0 / 3.0;

/// Bytes a cached column costs beyond its values (key, entry, index).
const ENTRY_OVERHEAD: usize = 256;

struct Entry {
    column: ModelColumn,
    bytes: usize,
    last_used: u64,
    round: u64,
}

/// Feature columns by canonical SQL, with their failures.
pub struct ColumnCache {
    columns: HashMap<String, Entry>,
    /// Keys by last use, oldest first.
    recency: BTreeMap<u64, String>,
    failures: HashMap<String, String>,
    bytes: usize,
    budget: usize,
    tick: u64,
    round: u64,
    reservation: MemoryReservation,
    pool: Arc<dyn MemoryPool>,
    evictions: u64,
}

impl ColumnCache {
    /// A cache of at most `budget` bytes, accounted in `pool`.
    pub fn new(budget: usize, pool: &Arc<dyn MemoryPool>) -> Self {
        let reservation =
            datafusion::execution::memory_pool::MemoryConsumer::new("FeatureSearch column cache")
                .register(pool);
        Self {
            columns: HashMap::new(),
            recency: BTreeMap::new(),
            failures: HashMap::new(),
            bytes: 0,
            budget,
            tick: 0,
            round: 0,
            reservation,
            pool: Arc::clone(pool),
            evictions: 0,
        }
    }

    /// Evicts columns of earlier rounds until the memory pool has `bytes` free (when it
    /// has a limit), so a query about to run is not refused memory the cache holds.
    pub fn make_room(&mut self, bytes: usize) {
        let MemoryLimit::Finite(limit) = self.pool.memory_limit() else {
            return;
        };
        while limit.saturating_sub(self.pool.reserved()) < bytes && self.evict_one() {}
    }

    /// Bytes the memory pool can still grant, when it has a limit.
    pub fn pool_room(&self) -> Option<usize> {
        match self.pool.memory_limit() {
            MemoryLimit::Finite(limit) => Some(limit.saturating_sub(self.pool.reserved())),
            MemoryLimit::Infinite | MemoryLimit::Unknown => None,
        }
    }

    /// Starts a round: what it touches stays until the next one starts.
    pub fn begin_round(&mut self) {
        self.round += 1;
    }

    /// Whether `sql` is known, computed or failed.
    pub fn contains(&self, sql: &str) -> bool {
        self.columns.contains_key(sql) || self.failures.contains_key(sql)
    }

    /// Whether `sql` is known to fail.
    pub fn failed(&self, sql: &str) -> bool {
        self.failures.contains_key(sql)
    }

    /// The column of `sql` or why it failed; `None` when it was never computed or was
    /// evicted. Marks it used in this round.
    pub fn get(&mut self, sql: &str) -> Option<Result<ModelColumn, String>> {
        if let Some(why) = self.failures.get(sql) {
            return Some(Err(why.clone()));
        }
        let tick = self.next_tick();
        let entry = self.columns.get_mut(sql)?;
        self.recency.remove(&entry.last_used);
        entry.last_used = tick;
        entry.round = self.round;
        self.recency.insert(tick, sql.to_owned());
        Some(Ok(entry.column.clone()))
    }

    /// Stores what computing `sql` gave, evicting the least recently used columns of earlier
    /// rounds to stay within the budget and the memory pool.
    pub fn insert(&mut self, sql: String, computed: Result<ModelColumn, String>) {
        let column = match computed {
            Ok(column) => column,
            Err(why) => {
                self.failures.insert(sql, why);
                return;
            }
        };
        if let Some(old) = self.columns.remove(&sql) {
            self.recency.remove(&old.last_used);
            self.release(old.bytes);
        }
        let bytes = column.len() * std::mem::size_of::<f64>() + sql.len() + ENTRY_OVERHEAD;
        while self.bytes + bytes > self.budget && self.evict_one() {}
        while self.reservation.try_grow(bytes).is_err() {
            if !self.evict_one() {
                // Nothing left to give back: the column is used now and computed again
                // when it is needed later.
                return;
            }
        }
        self.bytes += bytes;
        let tick = self.next_tick();
        self.recency.insert(tick, sql.clone());
        self.columns.insert(
            sql,
            Entry {
                column,
                bytes,
                last_used: tick,
                round: self.round,
            },
        );
    }

    /// Bytes the cached columns take.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Columns evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Evicts the least recently used column of an earlier round; false when there is none.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .recency
            .iter()
            .find(|(_, sql)| self.columns.get(*sql).is_some_and(|e| e.round < self.round))
            .map(|(tick, sql)| (*tick, sql.clone()));
        let Some((tick, sql)) = victim else {
            return false;
        };
        self.recency.remove(&tick);
        if let Some(entry) = self.columns.remove(&sql) {
            self.release(entry.bytes);
            self.evictions += 1;
        }
        true
    }

    fn release(&mut self, bytes: usize) {
        self.bytes -= bytes;
        self.reservation.shrink(bytes.min(self.reservation.size()));
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::execution::memory_pool::{GreedyMemoryPool, UnboundedMemoryPool};
    use ndarray::Array1;

    use super::*;

    fn column(n: usize, v: f64) -> ModelColumn {
        ModelColumn::numeric(Array1::from_elem(n, v))
    }

    fn cache(budget: usize, pool: Arc<dyn MemoryPool>) -> ColumnCache {
        ColumnCache::new(budget, &pool)
    }

    const ONE: usize = 1000 * 8 + 1 + ENTRY_OVERHEAD;

    #[test]
    fn evicts_the_least_recently_used_column_of_earlier_rounds() {
        let mut cache = cache(3 * ONE, Arc::new(UnboundedMemoryPool::default()));
        cache.begin_round();
        for name in ["a", "b", "c"] {
            cache.insert(name.to_owned(), Ok(column(1000, 1.0)));
        }
        cache.begin_round();
        assert!(cache.get("a").is_some(), "a is used again");
        cache.insert("d".to_owned(), Ok(column(1000, 2.0)));
        assert!(cache.get("b").is_none(), "b was the least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.evictions(), 1);
        assert_eq!(cache.bytes(), 3 * ONE);
    }

    #[test]
    fn the_current_round_is_never_evicted_and_failures_stay() {
        let mut cache = cache(2 * ONE, Arc::new(UnboundedMemoryPool::default()));
        cache.begin_round();
        cache.insert("bad".to_owned(), Err("constant".to_owned()));
        for name in ["a", "b", "c"] {
            cache.insert(name.to_owned(), Ok(column(1000, 1.0)));
        }
        // Over budget, but all three belong to this round.
        assert!(["a", "b", "c"].iter().all(|n| cache.get(n).is_some()));
        cache.begin_round();
        cache.insert("d".to_owned(), Ok(column(1000, 1.0)));
        assert_eq!(cache.bytes(), 2 * ONE, "back within the budget");
        assert!(cache.failed("bad"));
        assert_eq!(cache.get("bad"), Some(Err("constant".to_owned())));
    }

    #[test]
    fn the_memory_pool_bounds_it_too() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(2 * ONE));
        let mut cache = cache(usize::MAX, Arc::clone(&pool));
        cache.begin_round();
        cache.insert("a".to_owned(), Ok(column(1000, 1.0)));
        cache.insert("b".to_owned(), Ok(column(1000, 1.0)));
        cache.begin_round();
        cache.insert("c".to_owned(), Ok(column(1000, 1.0)));
        assert!(cache.get("a").is_none(), "evicted to make room in the pool");
        assert_eq!(pool.reserved(), 2 * ONE);
        // A query about to run gets the room it asks for, from earlier rounds only.
        cache.make_room(ONE);
        assert_eq!(pool.reserved(), ONE);
        assert!(cache.get("c").is_some(), "c belongs to the current round");
    }
}
