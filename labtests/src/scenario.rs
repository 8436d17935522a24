//! The one table of scenarios: every lab scenario with its phase, the test file (binary) that
//! runs it, and its virtual time limit. `cargo test` runs them through the thin wrappers in
//! `tests/raft_*.rs`; sweep runners and benchmarks run the same table in-process.
//!
//! The table is generic over the implementation (`table::<L: labapi::Lab>()`): each scenario is a
//! generic function instantiated for `L`'s types. `all()` is the reference's table, the one the
//! test files run; `crate::impls` registers the implementations dstest can sweep (`--impl`).

use std::time::Duration;

use labapi::{Lab, RaftPeer};
use labrpc::sim::{Config, Target};

use crate::impls::{self, Reference};
use crate::kv::{
    scenarios_4a as kv4a, scenarios_4b as kv4b, scenarios_api as kvapi, scenarios_beyond as kvx,
    scenarios_chaos as kvc, scenarios_lab2 as kv2, scenarios_lock as lock2,
};
use crate::raft::{
    scenarios_3a as a, scenarios_3b as b, scenarios_3c as c, scenarios_3d as d, scenarios_beyond as x,
    scenarios_chaos as xc, scenarios_commit as cm, scenarios_constructed as k, scenarios_install as si,
    scenarios_leads_twice as lt, scenarios_stale as st, scenarios_timers as tm,
};
use crate::rsm::scenarios as rsm;
use crate::shardkv::{scenarios_5a as s5a, scenarios_5b as s5b, scenarios_challenge as s5c, scenarios_faults as s5f};

/// A named scenario. `run` is a simulation's main thread and keeps no global state, so any
/// number of seeds may run side by side.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// The test name, e.g. "initial_election_3a".
    pub name: &'static str,
    /// The lab phase, e.g. "3a" (or "beyond").
    pub phase: &'static str,
    /// The integration test file that runs it, e.g. "raft_3a".
    pub file: &'static str,
    pub run: fn(),
    /// Virtual seconds a run may last before it fails.
    pub time_limit_s: u64,
    /// Preemption at lock and send points, per mille (0 but in the chaos scenarios).
    pub preempt_per_mille: u32,
    /// The implementation it runs (`crate::impls`), "reference" unless the registry says other.
    pub implementation: &'static str,
}

/// The default time limit (the Go tester's two minutes per test, here virtual).
const LIMIT_S: u64 = 120;

impl Scenario {
    /// The simulation config to run it with (before the environment knobs apply).
    pub fn config(&self) -> Config {
        Config {
            time_limit: Duration::from_secs(self.time_limit_s),
            preempt_per_mille: self.preempt_per_mille,
            ..Config::default()
        }
    }

    /// Where it lives, for replay commands.
    pub fn target(&self) -> Target {
        Target { package: "labtests".into(), test_binary: Some(self.file.into()), test_name: self.name.into() }
    }
}

const fn scenario(name: &'static str, phase: &'static str, file: &'static str, run: fn()) -> Scenario {
    Scenario { name, phase, file, run, time_limit_s: LIMIT_S, preempt_per_mille: 0, implementation: impls::DEFAULT }
}

/// A swarm chaos scenario: preemption on (see `crate::cluster::faults`).
const fn chaos(name: &'static str, file: &'static str, run: fn()) -> Scenario {
    let mut s = scenario(name, "chaos", file, run);
    s.preempt_per_mille = crate::cluster::faults::PREEMPT_PER_MILLE;
    s
}

const fn long(mut s: Scenario, time_limit_s: u64) -> Scenario {
    s.time_limit_s = time_limit_s;
    s
}

/// Every scenario of the reference (`crate::impls::Reference`), in lab order: what `cargo test`
/// runs.
pub fn all() -> Vec<Scenario> {
    table::<Reference>()
}

/// Every scenario, in lab order, run with implementation `L`.
pub fn table<L: Lab>() -> Vec<Scenario> {
    let mut all = raft::<L::Raft>();
    all.extend(kv::<L>());
    all.extend(rsm::<L>());
    all.extend(sharded::<L>());
    all
}

/// The Raft scenarios (lab 3 and beyond), run with Raft peer `R`.
pub fn raft<R: RaftPeer>() -> Vec<Scenario> {
    vec![
        scenario("initial_election_3a", "3a", "raft_3a", a::initial_election_3a::<R>),
        scenario("re_election_3a", "3a", "raft_3a", a::re_election_3a::<R>),
        scenario("many_elections_3a", "3a", "raft_3a", a::many_elections_3a::<R>),
        scenario(
            "leader_hears_higher_term_in_replies_3a",
            "3a",
            "raft_3a",
            k::leader_hears_higher_term_in_replies_3a::<R>,
        ),
        scenario("quiet_leader_keeps_term_3a", "3a", "raft_3a", tm::quiet_leader_keeps_term_3a::<R>),
        scenario("stale_vote_reply_3a", "3a", "raft_3a", st::stale_vote_reply_3a::<R>),
        scenario("basic_agree_3b", "3b", "raft_3b", b::basic_agree_3b::<R>),
        scenario("rpc_bytes_3b", "3b", "raft_3b", b::rpc_bytes_3b::<R>),
        scenario("follower_failure_3b", "3b", "raft_3b", b::follower_failure_3b::<R>),
        scenario("leader_failure_3b", "3b", "raft_3b", b::leader_failure_3b::<R>),
        scenario("fail_agree_3b", "3b", "raft_3b", b::fail_agree_3b::<R>),
        scenario("fail_no_agree_3b", "3b", "raft_3b", b::fail_no_agree_3b::<R>),
        scenario("concurrent_starts_3b", "3b", "raft_3b", b::concurrent_starts_3b::<R>),
        scenario("rejoin_3b", "3b", "raft_3b", b::rejoin_3b::<R>),
        scenario("backup_3b", "3b", "raft_3b", b::backup_3b::<R>),
        scenario("far_behind_stale_suffix_3b", "3b", "raft_3b", k::far_behind_stale_suffix_3b::<R>),
        scenario("stale_suffix_heartbeat_3b", "3b", "raft_3b", cm::stale_suffix_heartbeat_3b::<R>),
        scenario("same_leader_twice_3b", "3b", "raft_3b", lt::same_leader_twice_3b::<R>),
        scenario("count_3b", "3b", "raft_3b", b::count_3b::<R>),
        scenario("persist1_3c", "3c", "raft_3c", c::persist1_3c::<R>),
        scenario("persist2_3c", "3c", "raft_3c", c::persist2_3c::<R>),
        scenario("persist3_3c", "3c", "raft_3c", c::persist3_3c::<R>),
        long(scenario("figure8_3c", "3c", "raft_3c", c::figure8_3c::<R>), 240),
        scenario("unreliable_agree_3c", "3c", "raft_3c", c::unreliable_agree_3c::<R>),
        long(scenario("figure8_unreliable_3c", "3c", "raft_3c", c::figure8_unreliable_3c::<R>), 240),
        scenario("reliable_churn_3c", "3c", "raft_3c", c::reliable_churn_3c::<R>),
        scenario("unreliable_churn_3c", "3c", "raft_3c", c::unreliable_churn_3c::<R>),
        scenario("figure8_constructed_3c", "3c", "raft_3c", k::figure8_constructed_3c::<R>),
        scenario("vote_crash_3c", "3c", "raft_3c", st::vote_crash_3c::<R>),
        scenario("stale_append_reply_3c", "3c", "raft_3c", st::stale_append_reply_3c::<R>),
        scenario("term_answered_crash_3c", "3c", "raft_3c", st::term_answered_crash_3c::<R>),
        scenario("deaf_campaigners_3c", "3c", "raft_3c", tm::deaf_campaigners_3c::<R>),
        scenario("snapshot_basic_3d", "3d", "raft_3d", d::snapshot_basic_3d::<R>),
        scenario("snapshot_install_3d", "3d", "raft_3d", d::snapshot_install_3d::<R>),
        scenario("snapshot_install_unreliable_3d", "3d", "raft_3d", d::snapshot_install_unreliable_3d::<R>),
        scenario("snapshot_install_crash_3d", "3d", "raft_3d", d::snapshot_install_crash_3d::<R>),
        scenario("snapshot_install_uncrash_3d", "3d", "raft_3d", d::snapshot_install_uncrash_3d::<R>),
        scenario("snapshot_all_crash_3d", "3d", "raft_3d", d::snapshot_all_crash_3d::<R>),
        scenario("snapshot_init_3d", "3d", "raft_3d", d::snapshot_init_3d::<R>),
        scenario("install_snapshot_behind_commit_3d", "3d", "raft_3d", si::install_snapshot_behind_commit_3d::<R>),
        scenario("one_way_leader_cut_beyond", "beyond", "raft_beyond", x::one_way_leader_cut_beyond::<R>),
        scenario("duplicates_beyond", "beyond", "raft_beyond", x::duplicates_beyond::<R>),
        scenario("paused_leader_beyond", "beyond", "raft_beyond", x::paused_leader_beyond::<R>),
        long(scenario("random_faults_beyond", "beyond", "raft_beyond", x::random_faults_beyond::<R>), 240),
        chaos("swarm_chaos", "raft_chaos", xc::swarm_chaos::<R>),
        chaos("swarm_snapshots_chaos", "raft_chaos", xc::swarm_snapshots_chaos::<R>),
    ]
}

/// The key/value scenarios (labs 2 and 4, beyond, chaos, the kv API), run with `L`'s kvsrv and
/// kvraft servers and clerks.
pub fn kv<L: Lab>() -> Vec<Scenario> {
    vec![
        scenario("basic_2", "2", "lab2_kvsrv", kv2::basic_2::<L>),
        scenario("concurrent_2", "2", "lab2_kvsrv", kv2::concurrent_2::<L>),
        scenario("unreliable_2", "2", "lab2_kvsrv", kv2::unreliable_2::<L>),
        scenario("unreliable_one_key_2", "2", "lab2_kvsrv", kv2::unreliable_one_key_2::<L>),
        scenario("unreliable_random_keys_2", "2", "lab2_kvsrv", kv2::unreliable_random_keys_2::<L>),
        scenario("mem_get_2", "2", "lab2_kvsrv", kv2::mem_get_2::<L>),
        scenario("mem_put_2", "2", "lab2_kvsrv", kv2::mem_put_2::<L>),
        scenario("mem_append_2", "2", "lab2_kvsrv", kv2::mem_append_2::<L>),
        scenario("mem_put_many_clients_2", "2", "lab2_kvsrv", kv2::mem_put_many_clients_2::<L>),
        scenario("mem_get_many_clients_2", "2", "lab2_kvsrv", kv2::mem_get_many_clients_2::<L>),
        scenario("mem_many_appends_2", "2", "lab2_kvsrv", kv2::mem_many_appends_2::<L>),
        scenario("lock_reliable_one_client_2", "2", "lab2_lock", lock2::lock_reliable_one_client_2::<L>),
        scenario("lock_reliable_many_clients_2", "2", "lab2_lock", lock2::lock_reliable_many_clients_2::<L>),
        scenario("lock_unreliable_one_client_2", "2", "lab2_lock", lock2::lock_unreliable_one_client_2::<L>),
        scenario("lock_unreliable_many_clients_2", "2", "lab2_lock", lock2::lock_unreliable_many_clients_2::<L>),
        scenario("basic_4a", "4a", "kvraft_4a", kv4a::basic_4a::<L>),
        scenario("speed_4a", "4a", "kvraft_4a", kv4a::speed_4a::<L>),
        scenario("concurrent_4a", "4a", "kvraft_4a", kv4a::concurrent_4a::<L>),
        scenario("unreliable_4a", "4a", "kvraft_4a", kv4a::unreliable_4a::<L>),
        scenario("unreliable_one_key_4a", "4a", "kvraft_4a", kv4a::unreliable_one_key_4a::<L>),
        scenario("one_partition_4a", "4a", "kvraft_4a", kv4a::one_partition_4a::<L>),
        scenario("many_partitions_one_client_4a", "4a", "kvraft_4a", kv4a::many_partitions_one_client_4a::<L>),
        scenario("many_partitions_many_clients_4a", "4a", "kvraft_4a", kv4a::many_partitions_many_clients_4a::<L>),
        scenario("persist_one_client_4a", "4a", "kvraft_4a", kv4a::persist_one_client_4a::<L>),
        scenario("persist_concurrent_4a", "4a", "kvraft_4a", kv4a::persist_concurrent_4a::<L>),
        scenario("persist_concurrent_unreliable_4a", "4a", "kvraft_4a", kv4a::persist_concurrent_unreliable_4a::<L>),
        scenario("persist_partition_4a", "4a", "kvraft_4a", kv4a::persist_partition_4a::<L>),
        scenario("persist_partition_unreliable_4a", "4a", "kvraft_4a", kv4a::persist_partition_unreliable_4a::<L>),
        scenario(
            "persist_partition_unreliable_linearizable_4a",
            "4a",
            "kvraft_4a",
            kv4a::persist_partition_unreliable_linearizable_4a::<L>,
        ),
        scenario("snapshot_rpc_4b", "4b", "kvraft_4b", kv4b::snapshot_rpc_4b::<L>),
        scenario("snapshot_size_4b", "4b", "kvraft_4b", kv4b::snapshot_size_4b::<L>),
        scenario("speed_4b", "4b", "kvraft_4b", kv4b::speed_4b::<L>),
        scenario("snapshot_recover_4b", "4b", "kvraft_4b", kv4b::snapshot_recover_4b::<L>),
        scenario("snapshot_recover_many_clients_4b", "4b", "kvraft_4b", kv4b::snapshot_recover_many_clients_4b::<L>),
        scenario("snapshot_unreliable_4b", "4b", "kvraft_4b", kv4b::snapshot_unreliable_4b::<L>),
        scenario("snapshot_unreliable_recover_4b", "4b", "kvraft_4b", kv4b::snapshot_unreliable_recover_4b::<L>),
        scenario(
            "snapshot_unreliable_recover_concurrent_partition_4b",
            "4b",
            "kvraft_4b",
            kv4b::snapshot_unreliable_recover_concurrent_partition_4b::<L>,
        ),
        scenario(
            "snapshot_unreliable_recover_concurrent_partition_linearizable_4b",
            "4b",
            "kvraft_4b",
            kv4b::snapshot_unreliable_recover_concurrent_partition_linearizable_4b::<L>,
        ),
        scenario("kv_one_way_cuts_beyond", "beyond", "kv_beyond", kvx::kv_one_way_cuts_beyond::<L>),
        scenario("kv_duplicates_beyond", "beyond", "kv_beyond", kvx::kv_duplicates_beyond::<L>),
        scenario("kv_paused_leader_beyond", "beyond", "kv_beyond", kvx::kv_paused_leader_beyond::<L>),
        scenario("kvsrv_duplicates_beyond", "beyond", "kv_beyond", kvx::kvsrv_duplicates_beyond::<L>),
        chaos("kvraft_swarm_chaos", "kv_chaos", kvc::kvraft_swarm_chaos::<L>),
        scenario("kvsrv_unreliable_api", "api", "kv_api", kvapi::kvsrv_unreliable_api::<L>),
        scenario("kvraft_partitions_api", "api", "kv_api", kvapi::kvraft_partitions_api::<L>),
        scenario("kvraft_crashes_snapshots_api", "api", "kv_api", kvapi::kvraft_crashes_snapshots_api::<L>),
    ]
}

/// The sharded lab's scenarios (lab 5), run with `L`'s shard controller.
pub fn sharded<L: Lab>() -> Vec<Scenario> {
    vec![
        scenario("ctrler_basic_5a", "5a", "shardkv_5a", s5a::ctrler_basic_5a::<L>),
        scenario("ctrler_concurrent_5a", "5a", "shardkv_5a", s5a::ctrler_concurrent_5a::<L>),
        scenario("ctrler_unreliable_5a", "5a", "shardkv_5a", s5a::ctrler_unreliable_5a::<L>),
        scenario("ctrler_partitions_crashes_5a", "5a", "shardkv_5a", s5a::ctrler_partitions_crashes_5a::<L>),
        scenario("ctrler_leader_change_5a", "5a", "shardkv_5a", s5a::ctrler_leader_change_5a::<L>),
        scenario("ctrler_minimal_moves_5a", "5a", "shardkv_5a", s5a::ctrler_minimal_moves_5a::<L>),
        scenario("static_shards_5b", "5b", "shardkv_5b", s5b::static_shards_5b::<L>),
        scenario("join_leave_5b", "5b", "shardkv_5b", s5b::join_leave_5b::<L>),
        scenario("join_leave_snapshots_5b", "5b", "shardkv_5b", s5b::join_leave_snapshots_5b::<L>),
        scenario("miss_change_5b", "5b", "shardkv_5b", s5b::miss_change_5b::<L>),
        scenario("concurrent_5b", "5b", "shardkv_5b", s5b::concurrent_5b::<L>),
        scenario("unreliable_5b", "5b", "shardkv_5b", s5b::unreliable_5b::<L>),
        scenario("migration_crashes_5b", "5b", "shardkv_5b", s5b::migration_crashes_5b::<L>),
        scenario("unreliable_snapshots_crashes_5b", "5b", "shardkv_5b", s5b::unreliable_snapshots_crashes_5b::<L>),
        scenario("delete_moved_shards_5b", "5b", "shardkv_5b", s5c::delete_moved_shards_5b::<L>),
        scenario("unaffected_shards_5b", "5b", "shardkv_5b", s5c::unaffected_shards_5b::<L>),
        scenario("all_leave_rejoin_5b", "5b", "shardkv_5b", s5c::all_leave_rejoin_5b::<L>),
        scenario("migration_partitions_5b", "5b", "shardkv_5b", s5f::migration_partitions_5b::<L>),
        scenario("migration_group_down_5b", "5b", "shardkv_5b", s5f::migration_group_down_5b::<L>),
        scenario("migration_one_way_cuts_5b", "5b", "shardkv_5b", s5f::migration_one_way_cuts_5b::<L>),
        scenario("migration_paused_leaders_5b", "5b", "shardkv_5b", s5f::migration_paused_leaders_5b::<L>),
        scenario("ctrler_leader_change_5b", "5b", "shardkv_5b", s5f::ctrler_leader_change_5b::<L>),
    ]
}

/// The state machine layer alone (6.5840's lab 4A), run with `L`'s layer over the harness's probe
/// machine.
pub fn rsm<L: Lab>() -> Vec<Scenario> {
    vec![
        scenario("basic_rsm", "rsm", "rsm_4", rsm::basic_rsm::<L>),
        scenario("concurrent_rsm", "rsm", "rsm_4", rsm::concurrent_rsm::<L>),
        scenario("leader_failure_rsm", "rsm", "rsm_4", rsm::leader_failure_rsm::<L>),
        scenario("partition_rsm", "rsm", "rsm_4", rsm::partition_rsm::<L>),
        scenario("restart_rsm", "rsm", "rsm_4", rsm::restart_rsm::<L>),
        scenario("snapshot_rsm", "rsm", "rsm_4", rsm::snapshot_rsm::<L>),
        scenario("unreliable_rsm", "rsm", "rsm_4", rsm::unreliable_rsm::<L>),
    ]
}

/// The scenario named `name`, if any.
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// Runs scenario `name` under the environment knobs (LAB_SEED, LAB_RUNS, LAB_CHECK_DETERMINISM,
/// ...) and panics with the replayable report at the first failing seed. The test files call it.
pub fn run(name: &str) {
    let scenario = find(name).unwrap_or_else(|| panic!("no scenario named {name:?} in labtests::scenario::all()"));
    labrpc::sim::check(&scenario.target(), scenario.config(), scenario.run);
}
