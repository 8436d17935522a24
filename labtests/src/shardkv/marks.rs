//! Configuration marks in a sharded run's history view: when the controller answers a join or a
//! leave, the run's recorder gets an instant "config N" at that virtual time, whose hover text
//! names the change and which group then owns each shard. Groups apply configuration N at or
//! after the mark; operations on a moved shard between the mark and the new owner serving it are
//! the clients' "wrong group" retries.

use labapi::shard::{Config, NO_GROUP};

use crate::kv::history::Recorder;

/// The mark's label.
pub fn label(config: &Config) -> String {
    format!("config {}", config.num)
}

/// The mark's hover text: the change and the owner of every shard ("-" for none).
pub fn description(change: &str, config: &Config) -> String {
    let owners: Vec<String> =
        config.shards.iter().map(|&g| if g == NO_GROUP { "-".to_string() } else { g.to_string() }).collect();
    format!("configuration {} ({change}): shard owners {}", config.num, owners.join(" "))
}

/// Marks `config`, made by `change`, now.
pub fn mark(recorder: &Recorder, change: &str, config: &Config) {
    recorder.event(label(config), description(change, config));
}

#[cfg(test)]
mod tests {
    use labrpc::sim;
    use lincheck::{check, render_html, CheckOptions, KvModel};
    use raftkv::kvsrv::KvClient;

    use super::*;
    use crate::impls::Reference;
    use crate::shardkv::groups::ShardCluster;

    #[test]
    fn every_configuration_is_marked_in_order_and_drawn_in_the_view() {
        let report = sim::run(3, &sim::Config::default(), || {
            let recorder = Recorder::new();
            let cluster = ShardCluster::<Reference>::new(3, true, None, &recorder);
            let configs = [cluster.join(&[1]), cluster.join(&[2]), cluster.leave(&[1])];
            let mut ck = cluster.make_client();
            ck.put("k1", "v");
            ck.check("k1", "v");
            (configs, recorder.snapshot())
        });
        let (configs, (history, annotations)) = report.unwrap_or_else(|f| panic!("{f}")).value;
        let marks: Vec<_> = annotations.iter().filter(|a| a.label.starts_with("config ")).collect();
        let labels: Vec<&str> = marks.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["config 1", "config 2", "config 3"]);
        for (mark, config) in marks.iter().zip(&configs) {
            assert_eq!(mark.end_time, None, "{} is an instant", mark.label);
            assert!(mark.description.contains(&format!("shard owners {}", config.shards[0])), "{}", mark.description);
        }
        assert!(marks[2].description.starts_with("configuration 3 (leave [1]): shard owners 2 2 2"));
        // Each mark comes after the change was asked for.
        let asked = annotations.iter().find(|a| a.label == "leave [1]").expect("the leave is annotated");
        assert!(marks[2].time >= asked.time && marks[1].time <= asked.time);
        let result = check(&KvModel, &history, &CheckOptions::default());
        let html = render_html(&KvModel, &history, &result, &annotations, "marks");
        for label in labels {
            assert!(html.contains(&format!(">{label}</text>")), "the view does not draw {label}");
        }
    }
}
