//! A lossless network of hand-driven nodes, for the tests that drive a few nodes by hand
//! through whole exchanges (membership changes, ports of etcd-io/raft's scenarios).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use pureraft::{Action, Event, Message, NodeId, Raft, Role};

type Node = Raft<u64>;
type Actions = Vec<Action<u64>>;

/// Hand-driven nodes connected by a lossless FIFO network: every message sent is delivered by
/// `deliver`, unless its receiver is down (then it is lost). A node that is down keeps its
/// state and takes no ticks: a crash-stop, or a partition from everyone.
pub struct Net {
    /// The nodes, by id.
    pub nodes: BTreeMap<NodeId, Node>,
    /// The nodes that are down.
    pub down: BTreeSet<NodeId>,
    /// Messages in flight, in the order sent: (from, to, message).
    pub queue: VecDeque<(NodeId, NodeId, Message<u64>)>,
    /// Every action every node took, in order.
    pub history: Vec<(NodeId, Action<u64>)>,
}

impl Net {
    /// The network of `nodes`, all up, nothing in flight.
    pub fn new(nodes: impl IntoIterator<Item = Node>) -> Self {
        Net {
            nodes: nodes.into_iter().map(|node| (node.id(), node)).collect(),
            down: BTreeSet::new(),
            queue: VecDeque::new(),
            history: Vec::new(),
        }
    }

    /// Node `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    /// Steps node `id` (unless it is down) and queues what it sends.
    pub fn step(&mut self, id: NodeId, event: Event<u64>) -> Actions {
        if self.down.contains(&id) {
            return Vec::new();
        }
        let actions = self
            .nodes
            .get_mut(&id)
            .expect("a node of the net")
            .step(event);
        for action in &actions {
            if let Action::Send { to, message } = action {
                self.queue.push_back((id, *to, message.clone()));
            }
            self.history.push((id, action.clone()));
        }
        actions
    }

    /// Delivers messages until none is in flight.
    pub fn deliver(&mut self) {
        let mut delivered = 0;
        while let Some((from, to, message)) = self.queue.pop_front() {
            delivered += 1;
            assert!(delivered < 100_000, "the messages never settle");
            if self.nodes.contains_key(&to) && !self.down.contains(&to) {
                self.step(to, Event::Receive { from, message });
            }
        }
    }

    /// `ticks` ticks of every node that is up, delivering everything after each.
    pub fn tick(&mut self, ticks: u64) {
        for _ in 0..ticks {
            let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
            for id in ids {
                self.step(id, Event::Tick);
            }
            self.deliver();
        }
    }

    /// Ticks node `id` alone until it campaigns, then delivers: it must win.
    pub fn elect(&mut self, id: NodeId) {
        let term = self.node(id).term();
        for _ in 0..2 * self.node(id).config().election_ticks {
            self.step(id, Event::Tick);
            if self.node(id).term() > term {
                break;
            }
        }
        self.deliver();
        assert_eq!(self.node(id).role(), Role::Leader, "node {id} won");
    }

    /// The node of the highest term that leads, among those up.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .values()
            .filter(|node| !self.down.contains(&node.id()) && node.role() == Role::Leader)
            .max_by_key(|node| node.term())
            .map(|node| node.id())
    }
}
