//! Checks of what the controller answered, on the public API only: the sequence of
//! configurations read back by number must be a chain of legal successors
//! (`Config::check_successor`: balanced with the fewest moves after a join or leave, one shard
//! after a move), every configuration a clerk was answered must be the one at its number, and
//! every accepted mutation must have created exactly one configuration.

use labapi::shard::Config;
use labapi::ShardCtrlerClerk;

/// Reads configurations 0..=latest through `clerk` and checks them against each other and
/// against `answered` (every configuration some clerk got back from a mutation). Returns the
/// chain.
pub fn check_chain<C: ShardCtrlerClerk>(clerk: &mut C, answered: &[Config]) -> Vec<Config> {
    let latest = clerk.query(None);
    let chain: Vec<Config> = (0..=latest.num).map(|n| clerk.query(Some(n))).collect();
    assert_eq!(chain[0], Config::initial(), "configuration 0 is not the initial one");
    for pair in chain.windows(2) {
        assert_eq!(pair[1].num, pair[0].num + 1, "query({}) answered configuration {}", pair[0].num + 1, pair[1].num);
        pair[0].check_successor(&pair[1]).unwrap_or_else(|e| panic!("controller: {e}"));
    }
    assert_eq!(chain.last(), Some(&latest), "query(latest) and query({}) differ", latest.num);
    for config in answered {
        let at = chain.get(config.num as usize).unwrap_or_else(|| {
            panic!("a clerk was answered configuration {} but the latest is {}", config.num, latest.num)
        });
        assert_eq!(
            at, config,
            "a clerk was answered a configuration {} that query({}) does not return",
            config.num, config.num
        );
    }
    // Exactly once: each accepted mutation made one configuration, and no two were answered the
    // same one (a retry applied twice would make one more, or answer a later configuration).
    let mut nums: Vec<u64> = answered.iter().map(|c| c.num).collect();
    nums.sort_unstable();
    nums.dedup();
    assert_eq!(nums.len(), answered.len(), "two mutations were answered the same configuration");
    assert_eq!(
        answered.len() as u64,
        latest.num,
        "{} mutations were accepted but the controller made {} configurations",
        answered.len(),
        latest.num
    );
    chain
}
