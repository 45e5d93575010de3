//! The simulated network: seeded latency, loss, duplication and reordering, and partitions.

use std::collections::BTreeMap;

use crate::message::Message;
use crate::rng::Rng;
use crate::types::NodeId;

/// How the simulated network behaves. Chances are per million messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Smallest delivery latency, in ticks (0 delivers within the same tick).
    pub latency_min_ticks: u64,
    /// Largest delivery latency, in ticks. Different latencies reorder messages.
    pub latency_max_ticks: u64,
    /// Chance that a message is lost.
    pub loss_per_million: u32,
    /// Chance that a message is delivered twice.
    pub duplicate_per_million: u32,
    /// Chance that a reply (a response message) takes a long delay instead (the lab's long
    /// reordering delays replies only; requests keep the normal latency).
    pub long_delay_per_million: u32,
    /// Smallest long delay, in ticks. A long delay is drawn as `min + uniform(0, uniform(0,
    /// max - min))`, the lab's shape.
    pub long_delay_min_ticks: u64,
    /// Largest long delay, in ticks.
    pub long_delay_max_ticks: u64,
}

impl NetworkConfig {
    /// The lab's reliable network: nothing lost, latency 0-1 tick.
    pub fn reliable() -> Self {
        NetworkConfig {
            latency_min_ticks: 0,
            latency_max_ticks: 1,
            loss_per_million: 0,
            duplicate_per_million: 0,
            long_delay_per_million: 0,
            long_delay_min_ticks: 20,
            long_delay_max_ticks: 220,
        }
    }

    /// The lab's unreliable network: latency 0-3 ticks, 10% of messages lost.
    pub fn unreliable() -> Self {
        NetworkConfig {
            latency_max_ticks: 3,
            loss_per_million: 100_000,
            ..Self::reliable()
        }
    }

    /// The unreliable network with the lab's long reordering: two thirds of replies delayed by
    /// 20-220 ticks.
    pub fn unreliable_long_reordering() -> Self {
        NetworkConfig {
            long_delay_per_million: 666_667,
            ..Self::unreliable()
        }
    }

    /// Everything at once: loss, duplication, wide latency and some long delays.
    pub fn hostile() -> Self {
        NetworkConfig {
            latency_max_ticks: 5,
            loss_per_million: 100_000,
            duplicate_per_million: 50_000,
            long_delay_per_million: 20_000,
            ..Self::reliable()
        }
    }
}

pub(crate) struct Envelope<C> {
    pub(crate) from: NodeId,
    pub(crate) to: NodeId,
    pub(crate) message: Message<C>,
}

/// What became of one send.
pub(crate) struct Sent {
    pub(crate) dropped: bool,
    pub(crate) duplicated: bool,
}

pub(crate) struct Network<C> {
    config: NetworkConfig,
    /// In flight, by (delivery tick, sequence number): delivery order is deterministic.
    queue: BTreeMap<(u64, u64), Envelope<C>>,
    sequence: u64,
    nodes: usize,
    connected: Vec<bool>,
    /// Partition group of each node; nodes in different groups cannot talk.
    group: Vec<usize>,
    /// `cut[from * nodes + to]`: one-way link failures.
    cut: Vec<bool>,
    /// Messages waiting for a paused node.
    held: Vec<Vec<Envelope<C>>>,
}

impl<C: Clone> Network<C> {
    pub(crate) fn new(nodes: usize, config: NetworkConfig) -> Self {
        Network {
            config,
            queue: BTreeMap::new(),
            sequence: 0,
            nodes,
            connected: vec![true; nodes],
            group: vec![0; nodes],
            cut: vec![false; nodes * nodes],
            held: (0..nodes).map(|_| Vec::new()).collect(),
        }
    }

    pub(crate) fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Room for one more node, id `nodes + 1`: connected, in the first group (the one a heal
    /// puts everyone in), with no link cut.
    pub(crate) fn add_node(&mut self) {
        let before = self.nodes;
        let nodes = before + 1;
        let mut cut = vec![false; nodes * nodes];
        for from in 0..before {
            for to in 0..before {
                cut[from * nodes + to] = self.cut[from * before + to];
            }
        }
        self.cut = cut;
        self.nodes = nodes;
        self.connected.push(true);
        self.group.push(0);
        self.held.push(Vec::new());
    }

    pub(crate) fn set_config(&mut self, config: NetworkConfig) {
        self.config = config;
    }

    fn slot(&self, id: NodeId) -> usize {
        id as usize - 1
    }

    pub(crate) fn is_connected(&self, id: NodeId) -> bool {
        self.connected[self.slot(id)]
    }

    pub(crate) fn set_connected(&mut self, id: NodeId, connected: bool) {
        let slot = self.slot(id);
        self.connected[slot] = connected;
    }

    pub(crate) fn partition(&mut self, groups: &[&[NodeId]]) {
        // Nodes named in no group each end up alone.
        for (slot, group) in self.group.iter_mut().enumerate() {
            *group = groups.len() + slot;
        }
        for (number, members) in groups.iter().enumerate() {
            for &id in members.iter() {
                let slot = self.slot(id);
                self.group[slot] = number;
            }
        }
    }

    pub(crate) fn cut(&mut self, from: NodeId, to: NodeId) {
        let index = self.slot(from) * self.nodes + self.slot(to);
        self.cut[index] = true;
    }

    pub(crate) fn heal(&mut self) {
        self.group.iter_mut().for_each(|group| *group = 0);
        self.cut.iter_mut().for_each(|cut| *cut = false);
    }

    /// True if a message from `from` can reach `to` now.
    pub(crate) fn can_deliver(&self, from: NodeId, to: NodeId) -> bool {
        let (a, b) = (self.slot(from), self.slot(to));
        self.connected[a]
            && self.connected[b]
            && self.group[a] == self.group[b]
            && !self.cut[a * self.nodes + b]
    }

    pub(crate) fn send(
        &mut self,
        from: NodeId,
        to: NodeId,
        message: Message<C>,
        now: u64,
        rng: &mut Rng,
    ) -> Sent {
        if !self.can_deliver(from, to) || chance(rng, self.config.loss_per_million) {
            return Sent {
                dropped: true,
                duplicated: false,
            };
        }
        let duplicated = chance(rng, self.config.duplicate_per_million);
        let reply = !message.is_request();
        if duplicated {
            let at = now + self.latency(rng, reply);
            let copy = Envelope {
                from,
                to,
                message: message.clone(),
            };
            self.enqueue(at, copy);
        }
        let at = now + self.latency(rng, reply);
        self.enqueue(at, Envelope { from, to, message });
        Sent {
            dropped: false,
            duplicated,
        }
    }

    fn latency(&self, rng: &mut Rng, reply: bool) -> u64 {
        let config = &self.config;
        if reply && chance(rng, config.long_delay_per_million) {
            // The lab's shape: min + uniform(0, uniform(0, max - min)), so short extra delays
            // are more likely than long ones (labrpc draws 200 + rand(1 + rand(2000)) ms).
            let span = config.long_delay_max_ticks - config.long_delay_min_ticks;
            let bound = rng.in_range(0, span + 1);
            return config.long_delay_min_ticks + rng.in_range(0, bound + 1);
        }
        let span = config.latency_max_ticks - config.latency_min_ticks + 1;
        rng.in_range(config.latency_min_ticks, span)
    }

    fn enqueue(&mut self, at: u64, envelope: Envelope<C>) {
        self.sequence += 1;
        self.queue.insert((at, self.sequence), envelope);
    }

    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Envelope<C>> {
        let entry = self.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }

    pub(crate) fn hold(&mut self, envelope: Envelope<C>) {
        let slot = self.slot(envelope.to);
        self.held[slot].push(envelope);
    }

    pub(crate) fn release(&mut self, id: NodeId, now: u64) {
        let slot = self.slot(id);
        for envelope in std::mem::take(&mut self.held[slot]) {
            self.enqueue(now, envelope);
        }
    }

    /// A crashed node loses what waited for it while paused.
    pub(crate) fn drop_inbox(&mut self, id: NodeId) {
        let slot = self.slot(id);
        self.held[slot].clear();
    }

    /// Messages in flight or held.
    pub(crate) fn in_flight(&self) -> usize {
        self.queue.len() + self.held.iter().map(Vec::len).sum::<usize>()
    }
}

fn chance(rng: &mut Rng, per_million: u32) -> bool {
    per_million > 0 && rng.in_range(0, 1_000_000) < u64::from(per_million)
}
