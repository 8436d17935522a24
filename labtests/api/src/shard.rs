//! Lab 5 (the sharded store): the configurations the shard controller numbers, and the one
//! mapping from a key to its shard that clients, servers and the harness must share.
//!
//! **Tables and shards.** The store holds tables; a key belongs to the table whose name is the
//! longest prefix of the key (as `customers123` belongs to `customers`). The default table, named
//! `""`, prefixes every key, so every key has a table; it is split into
//! [`DEFAULT_TABLE_SHARDS`] shards. A table created later gets the next shard numbers, so shard
//! numbers never change once given. Within its table a key's shard is the FNV-1a 64-bit hash of
//! the rest of the key (after the table name) modulo the table's shard count: a pure function of
//! the key and the tables, the same in every process.
//!
//! **Configurations.** Configuration 0 has the default table and no groups (every shard at group
//! [`NO_GROUP`]). Every controller operation that changes something creates the next
//! configuration; clients and groups fetch them with a query.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A replica group's id; 0 is never a group.
pub type Gid = u64;

/// The owner of a shard while no group serves it (only when there are no groups).
pub const NO_GROUP: Gid = 0;

/// Shards of the default table (the 6.5840 tester's NShards).
pub const DEFAULT_TABLE_SHARDS: u32 = 10;

/// The most shards a configuration may hold over all its tables (every config carries one slot
/// per shard, so this bounds a config's size).
pub const MAX_SHARDS: u32 = 1024;

/// A table: its name (the key prefix) and its shards, numbered `first..first + shards`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub first: u32,
    pub shards: u32,
}

/// One numbered configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub num: u64,
    /// In creation order; their shard ranges are contiguous and cover `0..shards.len()`.
    pub tables: Vec<Table>,
    /// Shard number -> the group serving it ([`NO_GROUP`] when there are no groups).
    pub shards: Vec<Gid>,
    /// Each group's servers (names of labrpc servers).
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl Config {
    /// Configuration 0: the default table, no groups.
    pub fn initial() -> Config {
        Config {
            num: 0,
            tables: vec![Table { name: String::new(), first: 0, shards: DEFAULT_TABLE_SHARDS }],
            shards: vec![NO_GROUP; DEFAULT_TABLE_SHARDS as usize],
            groups: BTreeMap::new(),
        }
    }

    /// The table `key` belongs to: the one with the longest name that prefixes it.
    pub fn table_of(&self, key: &str) -> &Table {
        self.tables
            .iter()
            .filter(|t| key.starts_with(t.name.as_str()))
            .max_by_key(|t| t.name.len())
            .expect("config: the default table \"\" prefixes every key")
    }

    /// The shard of `key` (see the module doc).
    pub fn shard_of(&self, key: &str) -> u32 {
        let table = self.table_of(key);
        let rest = &key.as_bytes()[table.name.len()..];
        table.first + (fnv1a_64(rest) % u64::from(table.shards)) as u32
    }

    /// The group serving `key` in this configuration.
    pub fn group_of(&self, key: &str) -> Gid {
        self.shards[self.shard_of(key) as usize]
    }

    /// The shards `gid` serves, in order.
    pub fn shards_of(&self, gid: Gid) -> Vec<u32> {
        (0..self.shards.len() as u32).filter(|&s| self.shards[s as usize] == gid).collect()
    }

    /// The table a shard belongs to.
    pub fn table_of_shard(&self, shard: u32) -> Option<&Table> {
        self.tables.iter().find(|t| (t.first..t.first + t.shards).contains(&shard))
    }

    /// Whether `next` may follow this configuration, whatever operation made it (the harness
    /// infers it): the next number; tables only appended; every shard at a present group (or at
    /// [`NO_GROUP`] when there is none); and then either a move (same groups and tables, at most
    /// one shard changed) or a rebalance (groups within one shard of each other, and no more
    /// shards moved than the fewest any balanced assignment needs). The error names the rule.
    pub fn check_successor(&self, next: &Config) -> Result<(), String> {
        let (a, b) = (self.num, next.num);
        if b != a + 1 {
            return Err(format!("configuration {b} follows {a}"));
        }
        if next.tables.len() < self.tables.len() || next.tables[..self.tables.len()] != self.tables[..] {
            return Err(format!("configuration {b} changed the tables of {a}: {:?} -> {:?}", self.tables, next.tables));
        }
        let mut expected_first = 0;
        for t in &next.tables {
            if t.first != expected_first || t.shards == 0 {
                return Err(format!("configuration {b}: table {:?} does not continue the shard numbering", t.name));
            }
            expected_first += t.shards;
        }
        if next.shards.len() != expected_first as usize {
            return Err(format!("configuration {b}: {} shards for tables of {expected_first}", next.shards.len()));
        }
        for (shard, owner) in next.shards.iter().enumerate() {
            let ok = if next.groups.is_empty() { *owner == NO_GROUP } else { next.groups.contains_key(owner) };
            if !ok {
                return Err(format!(
                    "configuration {b}: shard {shard} is at group {owner}, not one of {:?}",
                    next.groups.keys()
                ));
            }
        }
        // New shards of a created table start at no group.
        let mut before = self.shards.clone();
        before.resize(next.shards.len(), NO_GROUP);
        let moved = before.iter().zip(&next.shards).filter(|(x, y)| x != y).count();
        if self.groups == next.groups && self.tables == next.tables {
            return if moved <= 1 {
                Ok(())
            } else {
                Err(format!("configuration {b} changes no group or table but moves {moved} shards"))
            };
        }
        let counts: Vec<usize> = next.groups.keys().map(|g| next.shards_of(*g).len()).collect();
        if let (Some(min), Some(max)) = (counts.iter().min(), counts.iter().max()) {
            if max - min > 1 {
                return Err(format!(
                    "configuration {b}: groups hold between {min} and {max} shards: {:?}",
                    next.shards
                ));
            }
        }
        let fewest = fewest_moves(&before, &next.groups.keys().copied().collect::<Vec<_>>());
        if moved > fewest {
            return Err(format!(
                "configuration {b} moved {moved} shards where {fewest} suffice: {before:?} -> {:?}",
                next.shards
            ));
        }
        Ok(())
    }
}

/// The fewest shards that must change owner to go from `before` (shard -> group) to any balanced
/// assignment over `groups` (each holding n / k shards, n % k of them one more; with no groups,
/// every shard at [`NO_GROUP`]), found by trying every choice of the groups that hold one more.
/// Exponential in the number of groups: meant for checking, with up to about 16 groups.
pub fn fewest_moves(before: &[Gid], groups: &[Gid]) -> usize {
    let (n, k) = (before.len(), groups.len());
    if k == 0 {
        return before.iter().filter(|&&g| g != NO_GROUP).count();
    }
    assert!(k <= 20, "fewest_moves: {k} groups is too many to try every choice");
    let held: Vec<usize> = groups.iter().map(|g| before.iter().filter(|&o| o == g).count()).collect();
    let mut best = usize::MAX;
    for mask in 0u32..(1 << k) {
        if mask.count_ones() as usize != n % k {
            continue;
        }
        let kept: usize = (0..k).map(|i| held[i].min(n / k + ((mask >> i) & 1) as usize)).sum();
        best = best.min(n - kept);
    }
    best
}

/// FNV-1a, 64 bits: small, stable across processes and platforms (std's hashers are not).
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_customers() -> Config {
        let mut config = Config::initial();
        config.tables.push(Table { name: "customers".into(), first: 10, shards: 4 });
        config.tables.push(Table { name: "cust".into(), first: 14, shards: 2 });
        config.shards.extend([NO_GROUP; 6]);
        config
    }

    #[test]
    fn a_key_belongs_to_the_longest_table_name_that_prefixes_it() {
        let config = with_customers();
        assert_eq!(config.table_of("customers123").name, "customers");
        assert_eq!(config.table_of("custard").name, "cust");
        assert_eq!(config.table_of("products7").name, "");
        assert_eq!(config.table_of("").name, "");
        for key in ["customers1", "customers22", "customers333", "customers4444", "customers"] {
            assert!((10..14).contains(&config.shard_of(key)), "{key}");
        }
        assert!((14..16).contains(&config.shard_of("custx")));
        assert!(config.shard_of("products7") < DEFAULT_TABLE_SHARDS);
        assert_eq!(config.table_of_shard(12).map(|t| t.name.as_str()), Some("customers"));
        assert_eq!(config.table_of_shard(16), None);
    }

    #[test]
    fn the_shard_hash_is_pinned() {
        // Every process, platform and implementation must agree: pin the function.
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let config = Config::initial();
        let shards: Vec<u32> = ["0", "1", "2", "a", "b", "key17"].iter().map(|k| config.shard_of(k)).collect();
        let expected: Vec<u32> =
            ["0", "1", "2", "a", "b", "key17"].iter().map(|k| (fnv1a_64(k.as_bytes()) % 10) as u32).collect();
        assert_eq!(shards, expected);
        // Keys spread over the shards (a constant function would also be "pure").
        let used: std::collections::BTreeSet<u32> = (0..100).map(|i| config.shard_of(&i.to_string())).collect();
        assert_eq!(used.len(), DEFAULT_TABLE_SHARDS as usize);
    }
}
