//! Rebalancing: given who owns each shard and which groups exist, move as few shards as possible
//! so that every shard has an existing group and the groups' shard counts differ by at most one.
//!
//! With n shards and k groups every group ends with n / k shards, and n % k of them with one more.
//! A shard stays where it is unless its group left or holds more than its target, so the number
//! of moves is (orphaned shards) + (sum of every group's excess over its target). The groups that
//! get the extra shard are those already holding the most (ties: smaller gid), which makes that
//! sum as small as it can be. Everything is ordered (shards ascending, groups by gid), so the
//! result depends only on the input.

use std::collections::{BTreeMap, BTreeSet};

use labapi::shard::{Gid, NO_GROUP};

/// Reassigns `shards` (shard -> gid) over `groups` in place (see the module doc). With no groups
/// every shard goes to [`NO_GROUP`].
pub fn rebalance(shards: &mut [Gid], groups: &BTreeSet<Gid>) {
    assert!(!groups.contains(&NO_GROUP), "rebalance: gid {NO_GROUP} is not a group");
    if groups.is_empty() {
        shards.fill(NO_GROUP);
        return;
    }
    let targets = targets(shards, groups);
    let mut counts: BTreeMap<Gid, usize> = groups.iter().map(|&g| (g, 0)).collect();
    for &owner in shards.iter() {
        if let Some(count) = counts.get_mut(&owner) {
            *count += 1;
        }
    }
    // Free the shards of departed groups, then each group's highest shards above its target.
    let mut free: Vec<usize> = (0..shards.len()).filter(|&s| !groups.contains(&shards[s])).collect();
    for (&gid, count) in counts.iter_mut() {
        let target = targets[&gid];
        for s in (0..shards.len()).rev() {
            if *count <= target {
                break;
            }
            if shards[s] == gid {
                free.push(s);
                *count -= 1;
            }
        }
    }
    free.sort_unstable();
    let mut free = free.into_iter();
    for (&gid, count) in counts.iter_mut() {
        while *count < targets[&gid] {
            let s = free.next().expect("rebalance: targets sum to the number of shards");
            shards[s] = gid;
            *count += 1;
        }
    }
    assert!(free.next().is_none(), "rebalance: a freed shard was left without a group");
}

/// Each group's shard count after rebalancing: n / k, plus one for the n % k groups that hold
/// the most shards now (ties: smaller gid first).
fn targets(shards: &[Gid], groups: &BTreeSet<Gid>) -> BTreeMap<Gid, usize> {
    let (n, k) = (shards.len(), groups.len());
    let mut by_load: Vec<(usize, Gid)> =
        groups.iter().map(|&g| (shards.iter().filter(|&&owner| owner == g).count(), g)).collect();
    // Most shards first, then smaller gid.
    by_load.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    by_load.iter().enumerate().map(|(rank, &(_, gid))| (gid, n / k + usize::from(rank < n % k))).collect()
}
