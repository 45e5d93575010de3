//! The simulator's picture of a run (`Sim::svg`, `simulate --svg`), read back as XML and
//! compared with the run's own record: its timeline of events and its statistics.
//!
//! For fixed seeds, a cluster runs under every fault of level 2 with random membership
//! changes, heals, and commits one more command; then the SVG must parse, and show one lane
//! per node, one leadership bar per term that had a leader (the timeline's elections), as many
//! crash and restart marks as the run had crashes and restarts, a committed-configuration mark
//! per configuration committed, and each node's commit line ending at its final commit index.

use std::collections::{BTreeMap, BTreeSet};

use pureraft::sim::{Faults, Sim, SimConfig, SimEvent};
use pureraft::NodeId;
use roxmltree::{Document, Node};

/// A run of `ticks` ticks under fault level 2 with random membership changes, then healed
/// until a new command commits on every member. Returns the simulation and its timeline.
fn faulty_run(seed: u64, ticks: u64) -> (Sim<u64>, Vec<(u64, SimEvent)>) {
    let mut sim: Sim<u64> = Sim::new(SimConfig::new(5, seed).with_snapshots(50));
    sim.record_timeline(true);
    let faults = Faults::level(2).with_membership(2_000);
    let mut next_command = 1;
    for _ in 0..ticks {
        sim.chaos_tick(&faults, &mut next_command);
    }
    sim.heal_all();
    let bound = sim.liveness_bound_ticks();
    sim.check_liveness(u64::MAX, bound)
        .unwrap_or_else(|error| panic!("seed {seed}: liveness: {error}"));
    let timeline = sim.take_timeline();
    (sim, timeline)
}

fn class_is(node: &Node<'_, '_>, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|classes| classes.split(' ').any(|c| c == class))
}

fn number<T: std::str::FromStr>(node: &Node<'_, '_>, attribute: &str) -> T {
    let text = node
        .attribute(attribute)
        .unwrap_or_else(|| panic!("<{}> has no {attribute}", node.tag_name().name()));
    text.parse()
        .unwrap_or_else(|_| panic!("{attribute}={text:?} is not a number"))
}

/// The elements of `document` with `class` among their classes.
fn with_class<'a, 'input>(
    document: &'a Document<'input>,
    class: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    document
        .descendants()
        .filter(move |node| node.is_element() && class_is(node, class))
}

/// Checks the picture of `sim`'s whole run against its timeline and statistics.
fn check_picture(seed: u64, sim: &Sim<u64>, timeline: &[(u64, SimEvent)]) {
    let svg = sim.svg(None);
    let document =
        Document::parse(&svg).unwrap_or_else(|error| panic!("seed {seed}: malformed SVG: {error}"));
    assert_eq!(document.root_element().tag_name().name(), "svg");

    // One lane per node, founding or added, in id order.
    let lanes: Vec<NodeId> = with_class(&document, "lane")
        .map(|lane| number(&lane, "data-node"))
        .collect();
    let ids: Vec<NodeId> = sim.ids().collect();
    assert_eq!(lanes, ids, "seed {seed}: one lane per node");

    // One leadership bar per term that had a leader, each on its leader's lane.
    let mut bars: BTreeMap<u64, NodeId> = BTreeMap::new();
    for lane in with_class(&document, "lane") {
        let node: NodeId = number(&lane, "data-node");
        for bar in lane.children().filter(|child| class_is(child, "leader")) {
            let term: u64 = number(&bar, "data-term");
            assert!(
                bars.insert(term, node).is_none(),
                "seed {seed}: two leadership bars for term {term}"
            );
        }
    }
    let elected: BTreeMap<u64, NodeId> = timeline
        .iter()
        .filter_map(|(_, event)| match event {
            SimEvent::LeaderElected { node, term } => Some((*term, *node)),
            _ => None,
        })
        .collect();
    assert!(!elected.is_empty(), "seed {seed}: no election to draw");
    assert_eq!(
        bars, elected,
        "seed {seed}: leadership bars against elections"
    );

    // Crashes and restarts, configurations appended and committed.
    let stats = sim.stats();
    let count = |class: &str| with_class(&document, class).count() as u64;
    let events = |wanted: fn(&SimEvent) -> bool| {
        timeline.iter().filter(|(_, event)| wanted(event)).count() as u64
    };
    assert!(stats.crashes > 0, "seed {seed}: the run should crash nodes");
    assert_eq!(
        count("crash") - 1,
        stats.crashes,
        "seed {seed}: crash marks"
    );
    assert_eq!(
        count("restart") - 1,
        stats.restarts,
        "seed {seed}: restart marks"
    );
    assert_eq!(
        count("config-committed") - 1,
        stats.configurations_committed,
        "seed {seed}: committed configurations"
    );
    assert_eq!(
        count("config-proposed") - 1,
        events(|event| matches!(event, SimEvent::MembershipProposed { .. })),
        "seed {seed}: configurations appended"
    );
    assert_eq!(
        count("snapshot") - 1,
        events(|event| matches!(event, SimEvent::SnapshotInstalled { .. })),
        "seed {seed}: snapshot installs"
    );
    let partitions = events(|event| matches!(event, SimEvent::Partitioned { .. }));
    assert_eq!(
        with_class(&document, "span")
            .filter(|span| class_is(span, "partition"))
            .count() as u64,
        partitions,
        "seed {seed}: partition spans"
    );

    // Each lane's commit line ends at the node's final commit index, drawn at the height the
    // lane's scale gives it (0 at the bottom, the run's largest commit index at the top).
    let root = document.root_element();
    let max_commit: f64 = number(&root, "data-commit-max");
    assert_eq!(
        number::<u64>(&root, "data-commit-min"),
        0,
        "seed {seed}: a whole run from 0"
    );
    let lane_height: f64 = number(&root, "data-lane-height");
    for lane in with_class(&document, "lane") {
        let id: NodeId = number(&lane, "data-node");
        let line = lane
            .children()
            .find(|child| child.tag_name().name() == "polyline")
            .unwrap_or_else(|| panic!("seed {seed}: node {id} has no commit line"));
        let last: u64 = number(&line, "data-commit-last");
        if let Some(raft) = sim.raft(id) {
            assert_eq!(
                last,
                raft.commit_index(),
                "seed {seed}: node {id}'s commit line"
            );
        }
        let points = line.attribute("points").expect("points");
        let (_, y) = points
            .split_whitespace()
            .last()
            .and_then(|point| point.split_once(','))
            .expect("a point");
        let y: f64 = y.parse().expect("a number");
        let top: f64 = number(&lane, "data-y");
        let expected = top + lane_height - last as f64 / max_commit * lane_height;
        assert!(
            (y - expected).abs() < 0.06,
            "seed {seed}: node {id}'s line ends at y {y}, not {expected}"
        );
    }
    let final_max = sim
        .ids()
        .filter_map(|id| sim.raft(id).map(|raft| raft.commit_index()))
        .max()
        .expect("a node is up");
    assert_eq!(
        max_commit as u64, final_max,
        "seed {seed}: the scale's top is the largest commit index, reached after healing"
    );
}

#[test]
fn the_picture_shows_what_the_run_did() {
    for seed in 1..=3 {
        let (sim, timeline) = faulty_run(seed, 3_000);
        check_picture(seed, &sim, &timeline);
    }
}

#[test]
fn a_window_draws_only_its_ticks() {
    let (sim, timeline) = faulty_run(4, 3_000);
    // A window of 1,000 ticks around the first election after tick 1,000, so that it holds
    // one whatever the run.
    let election = timeline
        .iter()
        .find_map(|(at, event)| {
            matches!(event, SimEvent::LeaderElected { .. } if *at >= 1_000).then_some(*at)
        })
        .expect("an election after tick 1,000");
    let (from, to) = (election - 500, election + 500);
    let svg = sim.svg(Some((from, to)));
    let document = Document::parse(&svg).expect("well-formed SVG");
    let root = document.root_element();
    assert_eq!(number::<u64>(&root, "data-from"), from);
    assert_eq!(number::<u64>(&root, "data-to"), to);
    // Bars stay inside the plot: between the labels' margin and the right edge.
    let width: f64 = number(&root, "width");
    for lane in with_class(&document, "lane") {
        for bar in lane.children().filter(|c| c.tag_name().name() == "rect") {
            let x: f64 = number(&bar, "x");
            let w: f64 = number(&bar, "width");
            assert!(
                x >= 60.0 && x + w <= width,
                "a bar outside the plot: {x} + {w}"
            );
        }
    }
    // Leadership bars: exactly the terms whose leader led at some tick of the window. A
    // term's leadership lasts from its election to the next election (or the end).
    let elections: Vec<(u64, u64)> = timeline
        .iter()
        .filter_map(|(at, event)| match event {
            SimEvent::LeaderElected { term, .. } => Some((*at, *term)),
            _ => None,
        })
        .collect();
    let shown: BTreeSet<u64> = with_class(&document, "leader")
        .filter(|node| node.has_attribute("data-term"))
        .map(|bar| number(&bar, "data-term"))
        .collect();
    let inside: BTreeSet<u64> = elections
        .iter()
        .filter(|(at, _)| (from..=to).contains(at))
        .map(|&(_, term)| term)
        .collect();
    assert!(!inside.is_empty(), "the window should hold an election");
    assert!(
        inside.is_subset(&shown),
        "{inside:?} elected in the window, {shown:?} drawn"
    );
    let after: Vec<u64> = elections
        .iter()
        .filter(|(at, _)| *at > to)
        .map(|&(_, term)| term)
        .collect();
    assert!(
        after.iter().all(|term| !shown.contains(term)),
        "a term elected after the window is drawn"
    );
    // The axis labels only the window's ticks.
    let axis = with_class(&document, "axis").next().expect("an axis");
    for label in axis.descendants().filter(|n| n.tag_name().name() == "text") {
        if let Ok(tick) = label.text().unwrap_or("").parse::<u64>() {
            assert!(
                (from..=to).contains(&tick),
                "axis label {tick} outside the window"
            );
        }
    }
}

#[test]
fn a_truncated_picture_is_malformed() {
    // The checks above start by parsing: a file cut short (a run killed while writing it,
    // say) or with text not escaped fails them.
    let (sim, _) = faulty_run(5, 500);
    let svg = sim.svg(None);
    assert!(Document::parse(&svg).is_ok());
    assert!(Document::parse(&svg[..svg.len() / 2]).is_err());
    let unescaped = svg.replacen("<title>", "<title>a < b", 1);
    assert!(Document::parse(&unescaped).is_err());
}

#[test]
fn a_long_run_stays_small() {
    // The default demo's length with the harshest faults: the picture stays under 1 MB
    // (a state held for less than a pixel is still a bar; commit lines keep one value per
    // pixel column).
    let mut sim: Sim<u64> = Sim::new(SimConfig::new(5, 1).with_snapshots(50));
    let faults = Faults::level(3).with_membership(200);
    let mut next_command = 1;
    for _ in 0..20_000 {
        sim.chaos_tick(&faults, &mut next_command);
    }
    let svg = sim.svg(None);
    assert!(svg.len() < 1 << 20, "{} bytes", svg.len());
    Document::parse(&svg).expect("well-formed SVG");
}
