//! A linearizability checker for the histories that tests record against the replicated
//! key-value store.
//!
//! # Model
//!
//! The store is a map from keys to string values, every key starting absent. A history is a
//! list of [`Event`]s: one client operation ([`Op`]) with the real-time interval in which the
//! client waited for it (`call`, `ret`). The history is *linearizable* if every operation can be
//! given a single instant inside its interval at which it takes effect atomically, such that the
//! results the clients saw are those of a sequential map applying the operations in the order of
//! those instants.
//!
//! Times are integers in any monotonic unit. Intervals are closed: an operation whose `ret` is
//! strictly less than another's `call` precedes it; when `ret == call` the two count as
//! concurrent (either order is allowed). This is the permissive reading: a checker that says
//! "not linearizable" must never be wrong because of clock resolution.
//!
//! An operation whose outcome the client never learned is *indeterminate*:
//!
//! * a `Put` or `Delete` with `ret: None`, and a `Cas` with `result: None` (whatever its `ret`:
//!   a server answering "outcome unknown" may still apply the command later), may take effect at
//!   any instant after its `call`, or never: it is an operation whose return is at +infinity and
//!   which may stay unlinearized at the end of the history;
//! * a `Get` with `result: None` constrains nothing and is dropped;
//! * an operation with a known result but `ret: None` (a `Get` or `Cas` that answered, with no
//!   time recorded) did take effect, at some instant after its `call`.
//!
//! An event with `ret < call` is malformed (a recorder bug: the clock is monotonic); it is not
//! rejected, and no panic happens: its interval is widened to `[ret, call]`, the widest reading,
//! so it can only make the verdict more permissive. [`Stats::malformed`] counts such events.
//!
//! # Algorithm
//!
//! *P-compositionality* (Horn and Kroening, "Faster linearizability checking via
//! P-compositionality", FORTE 2015; the locality of Herlihy and Wing, "Linearizability: a
//! correctness condition for concurrent objects", 1990): a map is linearizable iff the
//! sub-history of each key is linearizable as a single register, so the history is split per key
//! and each key is checked alone, in key order. A definite violation on any key wins over an
//! exhausted budget on another.
//!
//! Each key is checked with the algorithm of Wing and Gong ("Testing and verifying concurrent
//! objects", 1993) with the memoization of Lowe ("Testing for linearizability", 2017), the
//! design Porcupine also follows:
//!
//! 1. Every operation becomes a call entry and a return entry, sorted by time (calls before
//!    returns at equal times, see above) and threaded on a doubly linked list. Indeterminate
//!    mutations get no return entry (their return is at +infinity and nothing forces them to
//!    happen); known-result operations without a `ret` get a return entry at +infinity.
//! 2. A cursor walks the list from its head. At a call entry it tries to *linearize* the
//!    operation now: if the register allows it (a read must see the current value, a compare-and-
//!    set must succeed or fail as reported) and the pair (set of linearized operations as a
//!    bitset, register value) has not been seen before, the pair is cached, the operation and its
//!    return entry are unlinked from the list (dancing links, undone in O(1)), the choice is
//!    pushed on a stack and the cursor restarts at the head. Otherwise the cursor moves on.
//! 3. At a return entry, the operation it closes should already have taken effect and did not:
//!    the last choice is undone (popped, relinked) and the cursor moves past it. An empty stack
//!    there means no linearization exists.
//! 4. Reaching the end of the list means every remaining entry is the call of an indeterminate
//!    mutation that was never linearized: those never happened, and the history is linearizable.
//!    (A key with only indeterminate mutations is thus linearizable without any search.)
//!
//! The cache is sound because what remains to be done depends only on which operations have
//! been linearized and on the register's value, not on their order.
//!
//! # Complexity
//!
//! The problem is NP-complete (Gibbons and Korach, 1997), and the search is exponential in the
//! worst case: at most `2^n * (v + 1)` cached states for `n` operations and `v` distinct values on
//! a key, each costing O(n) list steps and O(n / 64) for hashing its bitset. In practice the sets
//! reachable are a linearized prefix plus a subset of the operations concurrent with its
//! frontier, so with `c` clients the states are about `n * 2^c * (v + 1)` and the search is
//! close to linear in `n` for the small `c` of tests; splitting per key keeps `n` and `v` small.
//! Memory is one bitset per cached state. `budget` bounds the states explored per key, and hence
//! both time and memory; when it runs out the verdict is [`Verdict::Unknown`], never a guess.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

/// One client operation on the store, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Sets `key` to `value`.
    Put {
        /// The key written.
        key: String,
        /// The value written.
        value: String,
    },
    /// Reads `key`; `Some(None)` = read absent, `Some(Some(v))` = read v; `None` = no answer
    /// known (the op is indeterminate).
    Get {
        /// The key read.
        key: String,
        /// What the read returned, if it returned.
        result: Option<Option<String>>,
    },
    /// Removes `key`.
    Delete {
        /// The key removed.
        key: String,
    },
    /// Sets `key` to `new` if its value equals `expected` (None = absent); `result`:
    /// `Some(true)` swapped, `Some(false)` did not, `None` unknown.
    Cas {
        /// The key compared and set.
        key: String,
        /// The value the key must hold for the swap (`None`: the key must be absent).
        expected: Option<String>,
        /// The value written when the swap happens.
        new: String,
        /// Whether it swapped, if known.
        result: Option<bool>,
    },
}

impl Op {
    /// The key the operation is on.
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. }
            | Op::Get { key, .. }
            | Op::Delete { key }
            | Op::Cas { key, .. } => key,
        }
    }
}

/// A completed or indeterminate operation with its real-time interval (any monotonic unit, e.g.
/// nanoseconds since the test started).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client that issued the operation (informational: only the intervals matter).
    pub client: u64,
    /// The operation and, for reads and compare-and-sets, its result.
    pub op: Op,
    /// When the client sent the operation.
    pub call: u64,
    /// When the client learned its outcome; `None` if it never did (timeout, connection lost,
    /// process killed).
    pub ret: Option<u64>,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's sub-history has a linearization.
    Linearizable,
    /// The sub-history of `key` has no linearization; `detail` says where the search got
    /// stuck deepest.
    NotLinearizable {
        /// The (first, in key order) key whose history is not linearizable.
        key: String,
        /// A human-readable account of the deepest point the search reached.
        detail: String,
    },
    /// The search exceeded its budget (states explored) for `key`: unknown.
    Unknown {
        /// The first key, in key order, whose search ran out of budget.
        key: String,
    },
}

/// Statistics of a check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Distinct keys checked.
    pub keys: u64,
    /// Operations checked (indeterminate reads excluded).
    pub operations: u64,
    /// Indeterminate reads dropped because they constrain nothing.
    pub dropped: u64,
    /// Events with `ret < call`, whose interval was widened to `[ret, call]`.
    pub malformed: u64,
    /// Search states explored (cached), summed over the keys searched.
    pub states: u64,
}

/// Checks a whole history: every key must be linearizable, in a register model starting
/// absent. `budget`: the most search states per key before giving up with `Unknown`.
///
/// Keys are checked in lexicographic order; the first violation found is returned, even if an
/// earlier key ran out of budget. Never panics.
pub fn check(history: &[Event], budget: u64) -> Verdict {
    check_with_stats(history, budget).0
}

/// [`check`], also returning statistics: keys, operations, states explored.
pub fn check_with_stats(history: &[Event], budget: u64) -> (Verdict, Stats) {
    let mut stats = Stats::default();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in history.iter().enumerate() {
        if matches!(e.ret, Some(r) if r < e.call) {
            stats.malformed += 1;
        }
        if let Op::Get { result: None, .. } = e.op {
            stats.dropped += 1;
            continue;
        }
        stats.operations += 1;
        by_key.entry(e.op.key()).or_default().push(i);
    }
    stats.keys = by_key.len() as u64;
    let mut unknown: Option<&str> = None;
    for (key, events) in by_key {
        let (outcome, states) = check_key(history, &events, budget);
        stats.states += states;
        match outcome {
            Outcome::Linearizable => {}
            Outcome::Unknown => {
                unknown.get_or_insert(key);
            }
            Outcome::Violation(detail) => {
                let key = key.to_string();
                return (Verdict::NotLinearizable { key, detail }, stats);
            }
        }
    }
    let verdict = match unknown {
        Some(key) => Verdict::Unknown {
            key: key.to_string(),
        },
        None => Verdict::Linearizable,
    };
    (verdict, stats)
}

/// The result of one key's search.
enum Outcome {
    Linearizable,
    Violation(String),
    Unknown,
}

/// A register value, interned per key: 0 is absent, `i + 1` the `i`-th distinct string.
type Value = u32;

/// An operation on one key's register, with values interned.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Put(Value),
    Delete,
    Get(Value),
    Cas {
        expected: Value,
        new: Value,
        swapped: Option<bool>,
    },
}

impl Kind {
    /// The register's value after applying `self` to `state`, or `None` if the result the
    /// client saw is impossible in `state`.
    fn step(self, state: Value) -> Option<Value> {
        match self {
            Kind::Put(v) => Some(v),
            Kind::Delete => Some(0),
            Kind::Get(v) => (state == v).then_some(state),
            Kind::Cas {
                expected,
                new,
                swapped,
            } => {
                let matches = state == expected;
                match swapped {
                    Some(true) => matches.then_some(new),
                    Some(false) => (!matches).then_some(state),
                    None => Some(if matches { new } else { state }),
                }
            }
        }
    }
}

/// The normalized interval of an event: `(call, ret)` with `ret >= call`.
fn interval(e: &Event) -> (u64, Option<u64>) {
    match e.ret {
        Some(r) if r < e.call => (r, Some(e.call)),
        r => (e.call, r),
    }
}

/// Interns the values of one key's operations.
struct Interner<'a> {
    ids: HashMap<&'a str, Value>,
    names: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn value(&mut self, v: Option<&'a str>) -> Value {
        let Some(v) = v else { return 0 };
        if let Some(&id) = self.ids.get(v) {
            return id;
        }
        self.names.push(v);
        let id = Value::try_from(self.names.len()).unwrap_or(Value::MAX);
        self.ids.insert(v, id);
        id
    }

    fn name(&self, id: Value) -> String {
        match id {
            0 => "absent".to_string(),
            id => match self.names.get(id as usize - 1) {
                Some(v) => format!("{v:?}"),
                None => "?".to_string(),
            },
        }
    }
}

/// A fast, non-cryptographic hasher for the cache's bitsets (FxHash's multiply-rotate).
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, w: usize) {
        self.write_u64(w as u64);
    }
}

/// Sentinel node of the circular entry list: both its head and its end.
const HEAD: usize = 0;
/// No return entry.
const NONE: usize = usize::MAX;

/// Removes node `n` from the circular list.
fn unlink(next: &mut [usize], prev: &mut [usize], n: usize) {
    let (p, q) = (prev[n], next[n]);
    next[p] = q;
    prev[q] = p;
}

/// Puts node `n` back where it was (its own links are untouched by `unlink`).
fn relink(next: &mut [usize], prev: &mut [usize], n: usize) {
    let (p, q) = (prev[n], next[n]);
    next[p] = n;
    prev[q] = n;
}

/// Checks the sub-history of one key (`events` index `history`, all on that key): the outcome
/// and the number of states explored.
fn check_key(history: &[Event], events: &[usize], budget: u64) -> (Outcome, u64) {
    let n = events.len();
    let mut interner = Interner {
        ids: HashMap::new(),
        names: Vec::new(),
    };
    // The operations, and their entries: (time, is_return, op). A return at +infinity sorts
    // after every finite time; calls sort before returns at equal times.
    const INFINITY: u128 = u64::MAX as u128 + 1;
    let mut kinds = Vec::with_capacity(n);
    let mut entries: Vec<(u128, bool, usize)> = Vec::with_capacity(2 * n);
    for (j, &i) in events.iter().enumerate() {
        let e = &history[i];
        let (call, ret) = interval(e);
        let (kind, optional) = match &e.op {
            Op::Put { value, .. } => (Kind::Put(interner.value(Some(value))), ret.is_none()),
            Op::Delete { .. } => (Kind::Delete, ret.is_none()),
            Op::Get { result, .. } => {
                let v = result.as_ref().and_then(|r| r.as_deref());
                (Kind::Get(interner.value(v)), false)
            }
            Op::Cas {
                expected,
                new,
                result,
                ..
            } => {
                let kind = Kind::Cas {
                    expected: interner.value(expected.as_deref()),
                    new: interner.value(Some(new)),
                    swapped: *result,
                };
                (kind, result.is_none())
            }
        };
        kinds.push(kind);
        entries.push((u128::from(call), false, j));
        if !optional {
            entries.push((ret.map_or(INFINITY, u128::from), true, j));
        }
    }
    if entries.len() == n {
        // Only indeterminate mutations: none need ever have happened.
        return (Outcome::Linearizable, 0);
    }
    entries.sort_unstable();

    // The circular doubly linked list: node 0 is the sentinel, node k + 1 is entries[k].
    let m = entries.len();
    let mut next: Vec<usize> = (1..=m + 1).map(|k| k % (m + 1)).collect();
    let mut prev: Vec<usize> = (0..=m).map(|k| (k + m) % (m + 1)).collect();
    let mut ret_node = vec![NONE; n];
    for (k, &(_, is_return, op)) in entries.iter().enumerate() {
        if is_return {
            ret_node[op] = k + 1;
        }
    }
    let node_op = |node: usize| entries[node - 1].2;
    let node_is_return = |node: usize| entries[node - 1].1;

    // The current search state: the bitset of linearized ops, followed by the register value,
    // which is also the key of the cache.
    let words = n.div_ceil(64);
    let mut current = vec![0u64; words + 1];
    let mut cache: HashSet<Vec<u64>, BuildHasherDefault<WordHasher>> = HashSet::default();
    let mut explored: u64 = 0;
    // The choices made: (call node, register value before it).
    let mut stack: Vec<(usize, Value)> = Vec::new();
    let mut state: Value = 0;
    // The deepest point where the search had to backtrack: (depth, blocked op, value).
    let mut deepest: Option<(usize, usize, Value)> = None;

    let mut cursor = next[HEAD];
    loop {
        if cursor == HEAD {
            return (Outcome::Linearizable, explored);
        }
        let op = node_op(cursor);
        if !node_is_return(cursor) {
            if let Some(after) = kinds[op].step(state) {
                current[op / 64] |= 1 << (op % 64);
                current[words] = u64::from(after);
                if !cache.contains(current.as_slice()) {
                    if explored >= budget {
                        return (Outcome::Unknown, explored);
                    }
                    explored += 1;
                    cache.insert(current.clone());
                    stack.push((cursor, state));
                    state = after;
                    unlink(&mut next, &mut prev, cursor);
                    if ret_node[op] != NONE {
                        unlink(&mut next, &mut prev, ret_node[op]);
                    }
                    cursor = next[HEAD];
                    continue;
                }
                current[op / 64] &= !(1 << (op % 64));
                current[words] = u64::from(state);
            }
            cursor = next[cursor];
        } else {
            if deepest.is_none_or(|(depth, _, _)| stack.len() > depth) {
                deepest = Some((stack.len(), op, state));
            }
            let Some((call, before)) = stack.pop() else {
                let detail = describe_failure(history, events, &interner, deepest);
                return (Outcome::Violation(detail), explored);
            };
            let undone = node_op(call);
            if ret_node[undone] != NONE {
                relink(&mut next, &mut prev, ret_node[undone]);
            }
            relink(&mut next, &mut prev, call);
            state = before;
            current[undone / 64] &= !(1 << (undone % 64));
            current[words] = u64::from(state);
            cursor = next[call];
        }
    }
}

/// Explains a violation from the deepest point the search reached.
fn describe_failure(
    history: &[Event],
    events: &[usize],
    interner: &Interner<'_>,
    deepest: Option<(usize, usize, Value)>,
) -> String {
    let Some((depth, op, state)) = deepest else {
        return format!("no linearization of the {} operations", events.len());
    };
    let index = events[op];
    let e = &history[index];
    let (call, ret) = interval(e);
    let ret = ret.map_or_else(|| "never".to_string(), |r| r.to_string());
    format!(
        "no linearization of the {} operations; the deepest partial linearization has {} of \
         them, after which history[{}] `{}` (client {}, called at {}, returned at {}) must take \
         effect before its return but cannot: the register then holds {}",
        events.len(),
        depth,
        index,
        describe(&e.op),
        e.client,
        call,
        ret,
        interner.name(state),
    )
}

/// A short rendering of an operation, e.g. `cas a absent->"x" -> true`.
fn describe(op: &Op) -> String {
    fn value(v: Option<&str>) -> String {
        v.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
    }
    match op {
        Op::Put { key, value: v } => format!("put {key}={v:?}"),
        Op::Get { key, result } => match result {
            Some(r) => format!("get {key} -> {}", value(r.as_deref())),
            None => format!("get {key} -> ?"),
        },
        Op::Delete { key } => format!("delete {key}"),
        Op::Cas {
            key,
            expected,
            new,
            result,
        } => {
            let result = result.map_or_else(|| "?".to_string(), |r| r.to_string());
            format!(
                "cas {key} {}->{new:?} -> {result}",
                value(expected.as_deref())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: u64 = 1_000_000;

    fn put(client: u64, key: &str, value: &str, call: u64, ret: Option<u64>) -> Event {
        Event {
            client,
            op: Op::Put {
                key: key.into(),
                value: value.into(),
            },
            call,
            ret,
        }
    }

    fn get(client: u64, key: &str, result: Option<&str>, call: u64, ret: Option<u64>) -> Event {
        Event {
            client,
            op: Op::Get {
                key: key.into(),
                result: Some(result.map(String::from)),
            },
            call,
            ret,
        }
    }

    fn del(client: u64, key: &str, call: u64, ret: Option<u64>) -> Event {
        Event {
            client,
            op: Op::Delete { key: key.into() },
            call,
            ret,
        }
    }

    fn cas(
        client: u64,
        key: &str,
        expected: Option<&str>,
        new: &str,
        result: Option<bool>,
        call: u64,
        ret: Option<u64>,
    ) -> Event {
        Event {
            client,
            op: Op::Cas {
                key: key.into(),
                expected: expected.map(String::from),
                new: new.into(),
                result,
            },
            call,
            ret,
        }
    }

    fn rejected_on(verdict: &Verdict, key: &str) -> bool {
        matches!(verdict, Verdict::NotLinearizable { key: k, .. } if k == key)
    }

    #[test]
    fn sequential_history_is_linearizable() {
        // c1: |put a=1| |get a->1| |cas a 1->2 true| |get a->2| |delete a| |get a->absent|
        //     0     1   2      3   4              5   6      7   8      9   10          11
        let h = vec![
            put(1, "a", "1", 0, Some(1)),
            get(1, "a", Some("1"), 2, Some(3)),
            cas(1, "a", Some("1"), "2", Some(true), 4, Some(5)),
            get(1, "a", Some("2"), 6, Some(7)),
            del(1, "a", 8, Some(9)),
            get(1, "a", None, 10, Some(11)),
        ];
        let (verdict, stats) = check_with_stats(&h, BUDGET);
        assert_eq!(verdict, Verdict::Linearizable);
        assert_eq!((stats.keys, stats.operations, stats.states), (1, 6, 6));
        // Each step is load-bearing: changing the last read breaks it.
        let mut bad = h.clone();
        bad[5] = get(1, "a", Some("2"), 10, Some(11));
        assert!(rejected_on(&check(&bad, BUDGET), "a"));
    }

    #[test]
    fn stale_read_is_rejected() {
        // c1: |--put a=1--|
        // c2:               |--get a -> absent--|
        //     0          10 11                 20
        let h = vec![
            put(1, "a", "1", 0, Some(10)),
            get(2, "a", None, 11, Some(20)),
        ];
        let verdict = check(&h, BUDGET);
        assert!(rejected_on(&verdict, "a"), "{verdict:?}");
        // c1: |put a=1| |put a=2|
        // c2:                     |get a -> 1|   (an older value)
        let h = vec![
            put(1, "a", "1", 0, Some(1)),
            put(1, "a", "2", 2, Some(3)),
            get(2, "a", Some("1"), 4, Some(5)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
    }

    #[test]
    fn lost_write_is_rejected() {
        // c1: |put a=1|
        // c2:           |put a=2|
        // c3:                     |get a -> 1|   (the second write was lost)
        //     0       1 2       3 4          5
        let h = vec![
            put(1, "a", "1", 0, Some(1)),
            put(2, "a", "2", 2, Some(3)),
            get(3, "a", Some("1"), 4, Some(5)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // c1: |put a=1|
        // c2:           |get a -> absent|
        // c3:                             |get a -> absent|   (the write was lost)
        let h = vec![
            put(1, "a", "1", 0, Some(1)),
            get(2, "a", None, 2, Some(3)),
            get(3, "a", None, 4, Some(5)),
        ];
        let verdict = check(&h, BUDGET);
        assert!(rejected_on(&verdict, "a"), "{verdict:?}");
        if let Verdict::NotLinearizable { detail, .. } = verdict {
            assert!(detail.contains("get a -> absent"), "{detail}");
        }
    }

    #[test]
    fn concurrent_overlap_is_accepted() {
        // c1: |------put a=1------|
        // c2:      |--get a -> r--|       r = absent or 1: both fine
        //     0    5             10
        for r in [None, Some("1")] {
            let h = vec![put(1, "a", "1", 0, Some(10)), get(2, "a", r, 5, Some(10))];
            assert_eq!(check(&h, BUDGET), Verdict::Linearizable, "{r:?}");
        }
        // ... but r = 2 is not.
        let h = vec![
            put(1, "a", "1", 0, Some(10)),
            get(2, "a", Some("2"), 5, Some(10)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // Touching intervals (ret == call) count as concurrent:
        // c1: |put a=1|
        // c2:         |get a -> absent|
        //     0      10              20
        let h = vec![
            put(1, "a", "1", 0, Some(10)),
            get(2, "a", None, 10, Some(20)),
        ];
        assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
    }

    #[test]
    fn indeterminate_put_may_or_may_not_happen() {
        // c1: |--put a=1 ...(no answer)
        // c2:            |get a -> 1|
        let h = vec![
            put(1, "a", "1", 0, None),
            get(2, "a", Some("1"), 5, Some(6)),
        ];
        assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        // c1: |--put a=1 ...(no answer)
        // c2:            |get a -> absent|
        let h = vec![put(1, "a", "1", 0, None), get(2, "a", None, 5, Some(6))];
        assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        // It may even take effect long after a later read:
        // c1: |--put a=1 ...(no answer)
        // c2:            |get a -> absent| |get a -> 1|
        let h = vec![
            put(1, "a", "1", 0, None),
            get(2, "a", None, 5, Some(6)),
            get(2, "a", Some("1"), 7, Some(8)),
        ];
        assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        // But once seen it cannot be unseen:
        // c1: |--put a=1 ...(no answer)
        // c2:            |get a -> 1| |get a -> absent|
        let h = vec![
            put(1, "a", "1", 0, None),
            get(2, "a", Some("1"), 5, Some(6)),
            get(2, "a", None, 7, Some(8)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // Nor can it take effect before its call:
        // c2: |get a -> 1|
        // c1:              |--put a=1 ...(no answer)
        let h = vec![
            get(2, "a", Some("1"), 0, Some(1)),
            put(1, "a", "1", 2, None),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // An indeterminate read constrains nothing and is dropped.
        let h = vec![Event {
            client: 1,
            op: Op::Get {
                key: "a".into(),
                result: None,
            },
            call: 0,
            ret: None,
        }];
        let (verdict, stats) = check_with_stats(&h, BUDGET);
        assert_eq!(verdict, Verdict::Linearizable);
        assert_eq!((stats.dropped, stats.operations), (1, 0));
    }

    #[test]
    fn cas_semantics() {
        // c1: |--cas a absent->x true--|
        // c2:    |--cas a absent->y true--|    only one can swap from absent
        let h = vec![
            cas(1, "a", None, "x", Some(true), 0, Some(10)),
            cas(2, "a", None, "y", Some(true), 2, Some(12)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // One true and one false is fine, in either order:
        for (rx, ry) in [(true, false), (false, true)] {
            let h = vec![
                cas(1, "a", None, "x", Some(rx), 0, Some(10)),
                cas(2, "a", None, "y", Some(ry), 2, Some(12)),
            ];
            assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        }
        // A failed cas must really have failed:
        // c1: |put a=1| |cas a 1->2 false|
        let h = vec![
            put(1, "a", "1", 0, Some(1)),
            cas(1, "a", Some("1"), "2", Some(false), 2, Some(3)),
        ];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
        // An unknown cas may or may not have swapped:
        // c1: |cas a absent->x ?|
        // c2:                     |get a -> r|    r = x or absent
        for r in [Some("x"), None] {
            let h = vec![
                cas(1, "a", None, "x", None, 0, Some(1)),
                get(2, "a", r, 2, Some(3)),
            ];
            assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        }
    }

    #[test]
    fn violation_reported_on_its_key() {
        // key a: 100 sequential put/get pairs, all fine.
        // key b: |put b=1| |get b -> absent|   (stale)
        let mut h = Vec::new();
        for i in 0..100u64 {
            let v = i.to_string();
            h.push(put(i % 3, "a", &v, 10 * i, Some(10 * i + 2)));
            h.push(get(i % 3 + 1, "a", Some(&v), 10 * i + 4, Some(10 * i + 6)));
        }
        h.push(put(7, "b", "1", 500, Some(501)));
        h.push(get(8, "b", None, 502, Some(503)));
        let (verdict, stats) = check_with_stats(&h, BUDGET);
        assert!(rejected_on(&verdict, "b"), "{verdict:?}");
        assert_eq!((stats.keys, stats.operations), (2, 202));
        // A violation beats an exhausted budget on an earlier key.
        let mut h2 = h.clone();
        for i in 0..20 {
            h2.push(put(9, "0", &i.to_string(), 0, Some(100)));
        }
        h2.push(get(9, "0", Some("none"), 200, Some(201)));
        assert!(rejected_on(&check(&h2, 100), "b"));
    }

    /// Xorshift64*, deterministic.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const VALUES: [&str; 4] = ["0", "1", "2", "3"];
    const KEYS: [&str; 3] = ["k0", "k1", "k2"];

    fn random_value(rng: &mut Rng) -> Option<String> {
        match rng.below(5) {
            0 => None,
            i => Some(VALUES[i as usize - 1].to_string()),
        }
    }

    /// An operation with its results unset (they are filled by the simulated register).
    fn random_op(rng: &mut Rng) -> Op {
        let key = KEYS[rng.below(3) as usize].to_string();
        let value = VALUES[rng.below(4) as usize].to_string();
        match rng.below(10) {
            0..=2 => Op::Put { key, value },
            3..=6 => Op::Get { key, result: None },
            7 => Op::Delete { key },
            _ => Op::Cas {
                key,
                expected: random_value(rng),
                new: value,
                result: None,
            },
        }
    }

    /// Applies `op` to the map and fills in its result.
    fn apply(map: &mut HashMap<String, String>, op: &mut Op) {
        match op {
            Op::Put { key, value } => {
                map.insert(key.clone(), value.clone());
            }
            Op::Get { key, result } => *result = Some(map.get(key).cloned()),
            Op::Delete { key } => {
                map.remove(key);
            }
            Op::Cas {
                key,
                expected,
                new,
                result,
            } => {
                let swap = map.get(key) == expected.as_ref();
                if swap {
                    map.insert(key.clone(), new.clone());
                }
                *result = Some(swap);
            }
        }
    }

    /// A history of a real linearizable map: each client runs `ops` operations one after the
    /// other, each taking effect at a random instant inside its interval; 10% of them are
    /// indeterminate (no return, and for mutations a coin decides whether they ever apply, at
    /// an instant possibly far later).
    fn linearizable_history(rng: &mut Rng, clients: u64, ops: usize) -> Vec<Event> {
        // (linearization instant, tie-break, event index, applies)
        let mut points = Vec::new();
        let mut history = Vec::new();
        for client in 0..clients {
            let mut t = rng.below(10);
            for _ in 0..ops {
                let call = t + 1 + rng.below(5);
                let lin = call + rng.below(10);
                let ret = lin + rng.below(10);
                let op = random_op(rng);
                let indeterminate = rng.chance(10);
                let (ret, lin, applies) = if indeterminate {
                    (None, call + rng.below(60), rng.chance(50))
                } else {
                    (Some(ret), lin, true)
                };
                points.push((lin, rng.next(), history.len(), applies));
                history.push(Event {
                    client,
                    op,
                    call,
                    ret,
                });
                t = ret.unwrap_or(lin + 5);
            }
        }
        points.sort_unstable();
        let mut map = HashMap::new();
        for (_, _, i, applies) in points {
            if applies {
                apply(&mut map, &mut history[i].op);
            }
        }
        for e in &mut history {
            if e.ret.is_none() {
                match &mut e.op {
                    Op::Get { result, .. } => *result = None,
                    Op::Cas { result, .. } => *result = None,
                    _ => {}
                }
            }
        }
        history
    }

    #[test]
    fn random_linearizable_histories_accepted_and_mutants_rejected() {
        let start = std::time::Instant::now();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut states = 0;
        for round in 0..200 {
            let h = linearizable_history(&mut rng, 5, 30);
            let (verdict, stats) = check_with_stats(&h, BUDGET);
            assert_eq!(verdict, Verdict::Linearizable, "round {round}: {h:#?}");
            assert_eq!(stats.keys, 3);
            states += stats.states;
        }
        eprintln!(
            "200 random histories (5 clients x 30 ops, 3 keys): {states} states in {:?}",
            start.elapsed()
        );
        // Sequential histories with one read (or cas) result changed: always rejected, on the
        // right key.
        let mut mutated = 0;
        for round in 0..200 {
            let mut h = Vec::new();
            let mut map = HashMap::new();
            for i in 0..60u64 {
                let mut op = random_op(&mut rng);
                apply(&mut map, &mut op);
                h.push(Event {
                    client: rng.below(5),
                    op,
                    call: 2 * i,
                    ret: Some(2 * i + 1),
                });
            }
            assert_eq!(check(&h, BUDGET), Verdict::Linearizable, "round {round}");
            let candidates: Vec<usize> = (0..h.len())
                .filter(|&i| matches!(h[i].op, Op::Get { .. } | Op::Cas { .. }))
                .collect();
            let i = candidates[rng.below(candidates.len() as u64) as usize];
            match &mut h[i].op {
                Op::Get {
                    result: Some(r), ..
                } => {
                    let mut other = random_value(&mut rng);
                    while other == *r {
                        other = random_value(&mut rng);
                    }
                    *r = other;
                }
                Op::Cas {
                    result: Some(r), ..
                } => *r = !*r,
                _ => unreachable!(),
            }
            let key = h[i].op.key().to_string();
            let verdict = check(&h, BUDGET);
            assert!(rejected_on(&verdict, &key), "round {round}: {verdict:?}");
            mutated += 1;
        }
        assert_eq!(mutated, 200);
    }

    /// The definition, by brute force: some order of the operations (the indeterminate
    /// mutations optionally left out) respects real time and the register's semantics.
    fn brute_force(history: &[Event]) -> bool {
        struct O {
            kind: Kind,
            call: u64,
            /// `None`: +infinity.
            ret: Option<u64>,
            optional: bool,
        }
        let mut interner = Interner {
            ids: HashMap::new(),
            names: Vec::new(),
        };
        let mut ops = Vec::new();
        for e in history {
            let (kind, optional) = match &e.op {
                Op::Get { result: None, .. } => continue,
                Op::Get {
                    result: Some(r), ..
                } => (Kind::Get(interner.value(r.as_deref())), false),
                Op::Put { value, .. } => (Kind::Put(interner.value(Some(value))), e.ret.is_none()),
                Op::Delete { .. } => (Kind::Delete, e.ret.is_none()),
                Op::Cas {
                    expected,
                    new,
                    result,
                    ..
                } => (
                    Kind::Cas {
                        expected: interner.value(expected.as_deref()),
                        new: interner.value(Some(new)),
                        swapped: *result,
                    },
                    result.is_none(),
                ),
            };
            let ret = if optional { None } else { e.ret };
            ops.push(O {
                kind,
                call: e.call,
                ret,
                optional,
            });
        }
        fn search(ops: &[O], left: &mut Vec<usize>, state: Value) -> bool {
            if left.iter().all(|&i| ops[i].optional) {
                return true;
            }
            for k in 0..left.len() {
                let o = &ops[left[k]];
                let blocked = left
                    .iter()
                    .any(|&p| matches!(ops[p].ret, Some(r) if r < o.call));
                if blocked {
                    continue;
                }
                if let Some(after) = o.kind.step(state) {
                    let i = left.swap_remove(k);
                    let found = search(ops, left, after);
                    left.push(i);
                    let last = left.len() - 1;
                    left.swap(k, last);
                    if found {
                        return true;
                    }
                }
            }
            false
        }
        let mut left: Vec<usize> = (0..ops.len()).collect();
        search(&ops, &mut left, 0)
    }

    #[test]
    fn agrees_with_brute_force_on_small_random_histories() {
        // Random single-key histories of up to 7 operations with random (often inconsistent)
        // results and random intervals: the checker must agree with the definition.
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let (mut yes, mut no) = (0, 0);
        for round in 0..3000 {
            let n = 1 + rng.below(7);
            let mut h = Vec::new();
            for _ in 0..n {
                let mut op = random_op(&mut rng);
                match &mut op {
                    Op::Put { key, .. } | Op::Delete { key } => *key = "a".into(),
                    Op::Get { key, result } => {
                        *key = "a".into();
                        *result = Some(random_value(&mut rng));
                    }
                    Op::Cas { key, result, .. } => {
                        *key = "a".into();
                        *result = match rng.below(5) {
                            0 => None,
                            1 | 2 => Some(true),
                            _ => Some(false),
                        };
                    }
                }
                let call = rng.below(20);
                let ret = (!rng.chance(15)).then(|| call + rng.below(8));
                h.push(Event {
                    client: 0,
                    op,
                    call,
                    ret,
                });
            }
            let expected = brute_force(&h);
            let verdict = check(&h, BUDGET);
            assert_eq!(
                verdict == Verdict::Linearizable,
                expected,
                "round {round}: {verdict:?} for {h:#?}"
            );
            if expected {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(yes > 300 && no > 300, "{yes} linearizable, {no} not");
    }

    /// `n` concurrent puts of distinct values, then a read of a value nobody wrote: not
    /// linearizable, but only after trying every subset of the puts.
    fn pathological(n: u64) -> Vec<Event> {
        // c0:  |------------put a=0------------|
        // c1:  |------------put a=1------------|
        // ...
        // cn-1:|------------put a=n-1----------|
        // cn:                                     |get a -> "none"|
        let mut h: Vec<Event> = (0..n)
            .map(|i| put(i, "a", &i.to_string(), i, Some(100 + i)))
            .collect();
        h.push(get(n, "a", Some("none"), 1000, Some(1001)));
        h
    }

    #[test]
    fn budget_exhaustion_is_unknown() {
        let (verdict, stats) = check_with_stats(&pathological(20), 1000);
        assert_eq!(verdict, Verdict::Unknown { key: "a".into() });
        assert_eq!(stats.states, 1000);
        // With room to finish, the same shape is decided.
        let (verdict, stats) = check_with_stats(&pathological(6), BUDGET);
        assert!(rejected_on(&verdict, "a"), "{verdict:?}");
        assert!(stats.states > 6, "{stats:?}");
        assert_eq!(
            check(&pathological(6), stats.states - 1),
            Verdict::Unknown { key: "a".into() }
        );
        // A zero budget decides nothing, except keys without a forced operation.
        let h = vec![put(1, "a", "1", 0, Some(1))];
        assert_eq!(check(&h, 0), Verdict::Unknown { key: "a".into() });
        assert_eq!(check(&h, 1), Verdict::Linearizable);
        let h = vec![put(1, "a", "1", 0, None)];
        assert_eq!(check(&h, 0), Verdict::Linearizable);
    }

    #[test]
    fn malformed_and_empty_histories_do_not_panic() {
        assert_eq!(check(&[], 0), Verdict::Linearizable);
        // ret < call: widened to [5, 10], so it overlaps the read at 6..7.
        // c1:     |put a=1  (recorded as call 10, ret 5)|
        // c2:       |get a -> 1|
        let h = vec![
            put(1, "a", "1", 10, Some(5)),
            get(2, "a", Some("1"), 6, Some(7)),
        ];
        let (verdict, stats) = check_with_stats(&h, BUDGET);
        assert_eq!(verdict, Verdict::Linearizable);
        assert_eq!(stats.malformed, 1);
        // Extreme times and a mandatory op without a return time.
        let h = vec![
            put(1, "a", "1", u64::MAX, Some(u64::MAX)),
            get(2, "a", Some("1"), u64::MAX, None),
            cas(3, "a", Some("1"), "2", Some(true), 0, None),
        ];
        assert_eq!(check(&h, BUDGET), Verdict::Linearizable);
        let h = vec![get(2, "a", Some("1"), 0, None)];
        assert!(rejected_on(&check(&h, BUDGET), "a"));
    }
}
