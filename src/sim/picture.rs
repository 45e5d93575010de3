//! The picture of a run: an SVG timeline with one lane per node (`Sim::svg`, `Sim::write_svg`,
//! `simulate --svg`).
//!
//! The simulator feeds it what it sees, as it happens: each node's role, term and commit index
//! after every step, and the events of its timeline (crashes, restarts, partitions, cut links,
//! pauses, snapshot installs, membership changes). It keeps only changes (a lane is a list of
//! segments of one state; a commit line a list of the points where the commit index moved),
//! so recording costs a comparison per step and the run can always be drawn, also when an
//! invariant fails part-way through it.
//!
//! The SVG is written by hand (a few kinds of elements, every text escaped): the library keeps
//! its dependencies, and the file needs nothing but a browser. Each kind of element has its own
//! `class` and `data-` attributes, so that a test can read the picture back and compare it with
//! the run; every mark has a `<title>`, which a browser shows as a tooltip.

use std::fmt::Write as _;

use crate::membership::Membership;
use crate::types::{LogIndex, NodeId, Term};

/// What a node's lane shows at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LaneState {
    /// Up, following (or waiting for) a leader, as a voter.
    Follower,
    /// Up, asking whether it could win an election (PreVote).
    PreCandidate,
    /// Up, campaigning.
    Candidate,
    /// Up, leading this term.
    Leader(Term),
    /// Up, a learner of its configuration in force.
    Learner,
    /// Up, in no configuration it knows: started empty to join, or removed.
    Outsider,
    /// Crashed, waiting for a restart.
    Down,
    /// Shut down for good.
    Retired,
}

impl LaneState {
    fn class(self) -> &'static str {
        match self {
            LaneState::Follower => "follower",
            LaneState::PreCandidate => "pre-candidate",
            LaneState::Candidate => "candidate",
            LaneState::Leader(_) => "leader",
            LaneState::Learner => "learner",
            LaneState::Outsider => "outsider",
            LaneState::Down => "down",
            LaneState::Retired => "retired",
        }
    }

    fn describe(self) -> String {
        match self {
            LaneState::Follower => "follower".into(),
            LaneState::PreCandidate => "pre-candidate".into(),
            LaneState::Candidate => "candidate".into(),
            LaneState::Leader(term) => format!("leader of term {term}"),
            LaneState::Learner => "learner".into(),
            LaneState::Outsider => "in no configuration it knows".into(),
            LaneState::Down => "down (crashed)".into(),
            LaneState::Retired => "retired".into(),
        }
    }
}

/// `state` from tick `from` to tick `to`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    from: u64,
    to: u64,
    state: LaneState,
}

/// One node's history.
#[derive(Debug)]
struct Lane {
    id: NodeId,
    /// Closed segments, in time order.
    segments: Vec<Segment>,
    /// The open segment: its state and the tick it began.
    current: (u64, LaneState),
    /// `(tick, commit index)` each time the commit index changed (the first at the lane's
    /// start).
    commits: Vec<(u64, LogIndex)>,
}

/// A point event drawn on a lane (or across all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MarkKind {
    Crash,
    Restart,
    SnapshotInstalled,
    NodeAdded,
    Retired,
    MembershipProposed,
    MembershipCommitted,
    Transfer,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            MarkKind::Crash => "crash",
            MarkKind::Restart => "restart",
            MarkKind::SnapshotInstalled => "snapshot",
            MarkKind::NodeAdded => "added",
            MarkKind::Retired => "retire",
            MarkKind::MembershipProposed => "config-proposed",
            MarkKind::MembershipCommitted => "config-committed",
            MarkKind::Transfer => "transfer",
        }
    }
}

#[derive(Clone, Debug)]
struct Mark {
    tick: u64,
    /// The lane, or `None` for a mark across the cluster.
    node: Option<NodeId>,
    kind: MarkKind,
    title: String,
}

/// A fault that lasts: shaded on the lanes it affects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SpanKind {
    Partition,
    LinkCut,
    Disconnected,
    Paused,
}

impl SpanKind {
    fn class(self) -> &'static str {
        match self {
            SpanKind::Partition => "partition",
            SpanKind::LinkCut => "link-cut",
            SpanKind::Disconnected => "disconnected",
            SpanKind::Paused => "paused",
        }
    }
}

#[derive(Clone, Debug)]
struct Span {
    from: u64,
    /// `None` while it lasts.
    to: Option<u64>,
    kind: SpanKind,
    /// The lanes it shades.
    nodes: Vec<NodeId>,
    /// The node it is about, for the spans that end with that node's own event.
    about: Option<NodeId>,
    title: String,
}

/// What the simulator has seen so far, ready to draw.
#[derive(Debug, Default)]
pub(crate) struct Picture {
    lanes: Vec<Lane>,
    marks: Vec<Mark>,
    spans: Vec<Span>,
}

impl Picture {
    /// A node appears at `now` (a founding node at 0, an added one later).
    pub(crate) fn add_lane(&mut self, id: NodeId, now: u64, state: LaneState, commit: LogIndex) {
        self.lanes.push(Lane {
            id,
            segments: Vec::new(),
            current: (now, state),
            commits: vec![(now, commit)],
        });
    }

    /// What node `id` is at `now`. Cheap when nothing changed: two comparisons.
    #[inline]
    pub(crate) fn observe(&mut self, id: NodeId, now: u64, state: LaneState, commit: LogIndex) {
        let Some(lane) = self.lanes.iter_mut().find(|lane| lane.id == id) else {
            return;
        };
        if lane.current.1 != state {
            let (from, previous) = lane.current;
            lane.segments.push(Segment {
                from,
                to: now,
                state: previous,
            });
            lane.current = (now, state);
        }
        if lane.commits.last().is_some_and(|&(_, last)| last != commit) {
            lane.commits.push((now, commit));
        }
    }

    /// The last commit index node `id`'s lane shows.
    pub(crate) fn last_commit(&self, id: NodeId) -> LogIndex {
        self.lanes
            .iter()
            .find(|lane| lane.id == id)
            .and_then(|lane| lane.commits.last())
            .map_or(0, |&(_, commit)| commit)
    }

    pub(crate) fn crash(&mut self, now: u64, node: NodeId, executed: usize, batch: usize) {
        let title = if batch > 0 {
            format!("tick {now}: node {node} crashed after {executed} of {batch} actions of a step")
        } else {
            format!("tick {now}: node {node} crashed")
        };
        self.mark(now, Some(node), MarkKind::Crash, title);
        self.end_spans_of(now, node, SpanKind::Paused);
    }

    pub(crate) fn restart(&mut self, now: u64, node: NodeId) {
        let title = format!("tick {now}: node {node} restarted from what it persisted");
        self.mark(now, Some(node), MarkKind::Restart, title);
    }

    pub(crate) fn snapshot_installed(&mut self, now: u64, node: NodeId, index: LogIndex) {
        let title =
            format!("tick {now}: node {node} installed its leader's snapshot up to {index}");
        self.mark(now, Some(node), MarkKind::SnapshotInstalled, title);
    }

    pub(crate) fn node_added(&mut self, now: u64, node: NodeId) {
        let title = format!("tick {now}: node {node} started empty, to join");
        self.mark(now, Some(node), MarkKind::NodeAdded, title);
    }

    /// Leader `from` starts handing leadership to `to` (thesis §3.10).
    pub(crate) fn transfer_started(&mut self, now: u64, from: NodeId, to: NodeId) {
        let title = format!("tick {now}: leader {from} hands leadership over to node {to}");
        self.mark(now, Some(from), MarkKind::Transfer, title);
    }

    /// Leader `from`'s transfer to `to` timed out; it still leads.
    pub(crate) fn transfer_aborted(&mut self, now: u64, from: NodeId, to: NodeId) {
        let title = format!("tick {now}: leader {from}'s transfer to node {to} timed out");
        self.mark(now, Some(from), MarkKind::Transfer, title);
    }

    pub(crate) fn retired(&mut self, now: u64, node: NodeId) {
        let title = format!("tick {now}: node {node} shut down for good");
        self.mark(now, Some(node), MarkKind::Retired, title);
    }

    pub(crate) fn membership_proposed(
        &mut self,
        now: u64,
        leader: NodeId,
        index: LogIndex,
        membership: &Membership,
    ) {
        let title = format!(
            "tick {now}: node {leader} appended configuration {} at index {index}",
            membership
        );
        self.mark(now, Some(leader), MarkKind::MembershipProposed, title);
    }

    pub(crate) fn membership_committed(
        &mut self,
        now: u64,
        index: LogIndex,
        membership: &Membership,
    ) {
        let title = format!(
            "tick {now}: configuration {} at index {index} committed",
            membership
        );
        self.mark(now, None, MarkKind::MembershipCommitted, title);
    }

    pub(crate) fn disconnected(&mut self, now: u64, node: NodeId) {
        let title = format!("node {node} cut off from every other node");
        self.open_span(now, SpanKind::Disconnected, vec![node], Some(node), title);
    }

    pub(crate) fn connected(&mut self, now: u64, node: NodeId) {
        self.end_spans_of(now, node, SpanKind::Disconnected);
    }

    pub(crate) fn partitioned(&mut self, now: u64, groups: &[Vec<NodeId>]) {
        // A new partition replaces the one before.
        self.end_spans(now, SpanKind::Partition);
        let shown: Vec<String> = groups
            .iter()
            .map(|group| {
                let ids: Vec<String> = group.iter().map(ToString::to_string).collect();
                format!("{{{}}}", ids.join(", "))
            })
            .collect();
        let title = format!("partition {}", shown.join(" | "));
        let nodes = self.lanes.iter().map(|lane| lane.id).collect();
        self.open_span(now, SpanKind::Partition, nodes, None, title);
    }

    pub(crate) fn link_cut(&mut self, now: u64, from: NodeId, to: NodeId) {
        let title = format!("link {from} -> {to} cut (messages from {from} to {to} dropped)");
        self.open_span(now, SpanKind::LinkCut, vec![from, to], None, title);
    }

    /// Partitions and cut links end; disconnected nodes stay disconnected.
    pub(crate) fn healed(&mut self, now: u64) {
        self.end_spans(now, SpanKind::Partition);
        self.end_spans(now, SpanKind::LinkCut);
    }

    pub(crate) fn paused(&mut self, now: u64, node: NodeId) {
        let title = format!("node {node} paused: no ticks, its messages wait");
        self.open_span(now, SpanKind::Paused, vec![node], Some(node), title);
    }

    pub(crate) fn resumed(&mut self, now: u64, node: NodeId) {
        self.end_spans_of(now, node, SpanKind::Paused);
    }

    fn mark(&mut self, tick: u64, node: Option<NodeId>, kind: MarkKind, title: String) {
        self.marks.push(Mark {
            tick,
            node,
            kind,
            title,
        });
    }

    fn open_span(
        &mut self,
        now: u64,
        kind: SpanKind,
        nodes: Vec<NodeId>,
        about: Option<NodeId>,
        title: String,
    ) {
        self.spans.push(Span {
            from: now,
            to: None,
            kind,
            nodes,
            about,
            title,
        });
    }

    fn end_spans(&mut self, now: u64, kind: SpanKind) {
        for span in &mut self.spans {
            if span.kind == kind && span.to.is_none() {
                span.to = Some(now);
            }
        }
    }

    fn end_spans_of(&mut self, now: u64, node: NodeId, kind: SpanKind) {
        for span in &mut self.spans {
            if span.kind == kind && span.to.is_none() && span.about == Some(node) {
                span.to = Some(now);
            }
        }
    }

    /// The SVG of ticks `from..=to` of the run so far (`now` is the last tick seen). `title`
    /// heads the picture.
    pub(crate) fn svg(&self, title: &str, now: u64, window: Option<(u64, u64)>) -> String {
        let (from, to) = window.unwrap_or((0, now));
        // A window past the end shows the last tick; the span is never empty.
        let from = from.min(now).min(u64::MAX - 1);
        let to = to.min(now).max(from + 1);
        Canvas::new(from, to, self.lanes.len()).draw(self, title, now)
    }
}

/// Escapes text for SVG content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Width of the drawing area, in pixels: long runs are scaled into it.
const PLOT_WIDTH: f64 = 1200.0;
/// Left margin, for the lanes' labels.
const LEFT: f64 = 64.0;
/// Top margin, for the title and the legend.
const TOP: f64 = 58.0;
/// Height of one lane and the gap below it.
const LANE_HEIGHT: f64 = 26.0;
const LANE_GAP: f64 = 12.0;
/// Room below the lanes for the time axis.
const AXIS: f64 = 34.0;
/// The narrowest bar drawn, so that a state held for less than a pixel still shows.
const MIN_WIDTH: f64 = 0.6;

/// Geometry of one drawing: ticks `from..=to` across `PLOT_WIDTH` pixels.
struct Canvas {
    from: u64,
    to: u64,
    lanes: usize,
    scale: f64,
    out: String,
}

impl Canvas {
    fn new(from: u64, to: u64, lanes: usize) -> Self {
        Canvas {
            from,
            to,
            lanes,
            scale: PLOT_WIDTH / (to - from) as f64,
            out: String::new(),
        }
    }

    fn x(&self, tick: u64) -> f64 {
        LEFT + (tick.clamp(self.from, self.to) - self.from) as f64 * self.scale
    }

    fn lane_y(&self, position: usize) -> f64 {
        TOP + position as f64 * (LANE_HEIGHT + LANE_GAP)
    }

    fn height(&self) -> f64 {
        TOP + self.lanes as f64 * (LANE_HEIGHT + LANE_GAP) + AXIS
    }

    /// True if `[from, to]` meets the window.
    fn visible(&self, from: u64, to: u64) -> bool {
        to >= self.from && from <= self.to
    }

    fn draw(mut self, picture: &Picture, title: &str, now: u64) -> String {
        let width = LEFT + PLOT_WIDTH + 24.0;
        let height = self.height();
        // The commit lines' scale: the smallest and largest commit index the window shows.
        let shown = picture
            .lanes
            .iter()
            .flat_map(|lane| self.shown_commits(lane));
        let (low, high) = shown.fold((LogIndex::MAX, 0), |(low, high), commit| {
            (low.min(commit), high.max(commit))
        });
        let low = low.min(high);
        let scale = (low, high.max(low + 1));
        let _ = write!(
            self.out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11" data-from="{}" data-to="{}" data-now="{now}" data-commit-min="{}" data-commit-max="{}" data-lane-height="{LANE_HEIGHT}">"#,
            self.from, self.to, scale.0, scale.1
        );
        self.out.push_str(STYLE);
        let _ = write!(
            self.out,
            r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"#,
            escape(title)
        );
        self.legend();
        self.spans(picture);
        for (position, lane) in picture.lanes.iter().enumerate() {
            self.lane(position, lane, now, scale);
        }
        self.marks(picture);
        self.axis();
        self.out.push_str("</svg>\n");
        self.out
    }

    fn legend(&mut self) {
        let entries = [
            ("follower", "follower"),
            ("pre-candidate", "pre-candidate"),
            ("candidate", "candidate"),
            ("leader", "leader (term)"),
            ("learner", "learner"),
            ("outsider", "no configuration"),
            ("down", "down"),
            ("retired", "retired"),
        ];
        let mut x = LEFT;
        let y = 28.0;
        for (class, label) in entries {
            x = self.swatch(class, label, x, y);
        }
        for (class, label) in [
            ("partition", "partition"),
            ("link-cut", "link cut"),
            ("disconnected", "disconnected"),
            ("paused", "paused"),
        ] {
            x = self.swatch(class, label, x, y);
        }
        let y = 44.0;
        let mut x = LEFT;
        let shapes = [
            ("crash", "crash"),
            ("restart", "restart"),
            ("snapshot", "snapshot installed"),
            ("config-proposed", "configuration appended"),
            ("config-committed", "configuration committed"),
            ("added", "node added"),
            ("retire", "node retired"),
            ("transfer", "leadership transfer"),
        ];
        for (class, label) in shapes {
            self.shape(class, x + 5.0, y + 5.0, 5.0, None);
            let _ = write!(
                self.out,
                r#"<text x="{:.1}" y="{:.1}">{label}</text>"#,
                x + 14.0,
                y + 9.0
            );
            x += 22.0 + 7.0 * label.len() as f64;
        }
        let _ = write!(
            self.out,
            r#"<line class="commit" x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}">commit index</text>"#,
            y + 5.0,
            x + 14.0,
            y + 5.0,
            x + 18.0,
            y + 9.0
        );
    }

    /// A legend entry: a coloured square of `class` at `(x, y)` and its label. Returns where
    /// the next entry goes.
    fn swatch(&mut self, class: &str, label: &str, x: f64, y: f64) -> f64 {
        let _ = write!(
            self.out,
            r#"<rect class="key {class}" x="{x:.1}" y="{y}" width="12" height="10"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            x + 16.0,
            y + 9.0
        );
        x + 24.0 + 7.0 * label.len() as f64
    }

    fn spans(&mut self, picture: &Picture) {
        let position_of = |id: NodeId| picture.lanes.iter().position(|lane| lane.id == id);
        for span in &picture.spans {
            let end = span.to.unwrap_or(self.to);
            if !self.visible(span.from, end) {
                continue;
            }
            let x = self.x(span.from);
            let width = (self.x(end) - x).max(MIN_WIDTH);
            let title = match span.to {
                Some(to) => format!("ticks {}-{to}: {}", span.from, span.title),
                None => format!("from tick {}: {}", span.from, span.title),
            };
            let _ = write!(
                self.out,
                r#"<g class="span {}" data-from="{}" data-to="{end}"><title>{}</title>"#,
                span.kind.class(),
                span.from,
                escape(&title)
            );
            for &node in &span.nodes {
                let Some(position) = position_of(node) else {
                    continue;
                };
                let (y, height) = match span.kind {
                    // A cut link is a thin band along the top of both ends' lanes.
                    SpanKind::LinkCut => (self.lane_y(position) - 5.0, 4.0),
                    _ => (self.lane_y(position) - 3.0, LANE_HEIGHT + 6.0),
                };
                let _ = write!(
                    self.out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}"/>"#
                );
            }
            self.out.push_str("</g>");
        }
    }

    fn lane(&mut self, position: usize, lane: &Lane, now: u64, scale: (LogIndex, LogIndex)) {
        let y = self.lane_y(position);
        let _ = write!(
            self.out,
            r#"<g class="lane" data-node="{}" data-y="{y:.1}"><text x="8" y="{:.1}" font-weight="bold">node {}</text>"#,
            lane.id,
            y + LANE_HEIGHT / 2.0 + 4.0,
            lane.id
        );
        let open = Segment {
            from: lane.current.0,
            to: now,
            state: lane.current.1,
        };
        for segment in lane.segments.iter().chain(std::iter::once(&open)) {
            if !self.visible(segment.from, segment.to) {
                continue;
            }
            let x = self.x(segment.from);
            let width = (self.x(segment.to) - x).max(MIN_WIDTH);
            let title = format!(
                "node {}: {}, ticks {}-{}",
                lane.id,
                segment.state.describe(),
                segment.from,
                segment.to
            );
            let term = match segment.state {
                LaneState::Leader(term) => format!(r#" data-term="{term}""#),
                _ => String::new(),
            };
            let _ = write!(
                self.out,
                r#"<rect class="{}"{term} x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{LANE_HEIGHT}"><title>{}</title></rect>"#,
                segment.state.class(),
                escape(&title)
            );
            if let LaneState::Leader(term) = segment.state {
                let label = format!("t{term}");
                if width >= 7.0 * label.len() as f64 {
                    let _ = write!(
                        self.out,
                        r#"<text class="term" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                        x + width / 2.0,
                        y + LANE_HEIGHT / 2.0 + 4.0
                    );
                }
            }
        }
        self.commit_line(lane, y, now, scale);
        self.out.push_str("</g>");
    }

    /// The commit index `lane` held at the window's first tick, if the lane had begun by then.
    fn commit_at_start(&self, lane: &Lane) -> Option<LogIndex> {
        lane.commits
            .iter()
            .take_while(|&&(tick, _)| tick <= self.from)
            .last()
            .map(|&(_, commit)| commit)
    }

    /// The commit indices `lane` shows in the window: the one at its start and every later
    /// one up to its end.
    fn shown_commits<'a>(&self, lane: &'a Lane) -> impl Iterator<Item = LogIndex> + 'a {
        let (from, to) = (self.from, self.to);
        let at_start = self.commit_at_start(lane);
        let inside = lane
            .commits
            .iter()
            .filter(move |&&(tick, _)| tick > from && tick <= to)
            .map(|&(_, commit)| commit);
        at_start.into_iter().chain(inside)
    }

    /// The lane's commit index as a step line from the lane's bottom (`scale.0`, the smallest
    /// the window shows: 0 for a whole run) to its top (`scale.1`, the largest), at most one
    /// point per pixel column.
    fn commit_line(&mut self, lane: &Lane, y: f64, now: u64, scale: (LogIndex, LogIndex)) {
        let (low, high) = scale;
        let level = |commit: LogIndex| {
            y + LANE_HEIGHT - (commit - low) as f64 / (high - low) as f64 * LANE_HEIGHT
        };
        // The commit index at the window's start (or the lane's, if it began later), then its
        // changes inside the window.
        let (start, mut value) = match self.commit_at_start(lane) {
            Some(commit) => (self.from, commit),
            None => lane.commits[0],
        };
        if start > self.to {
            return;
        }
        let mut points: Vec<(f64, LogIndex)> = Vec::new();
        points.push((self.x(start), value));
        // Steps: hold the old value up to the tick of a change, then the new one. Within one
        // pixel column of the last change only its last value is kept.
        let mut last_change_x: Option<f64> = None;
        for &(tick, commit) in &lane.commits {
            if tick <= start || tick > self.to {
                continue;
            }
            let x = self.x(tick);
            match last_change_x {
                Some(at) if x - at < 1.0 => {
                    if let Some(last) = points.last_mut() {
                        last.1 = commit;
                    }
                }
                _ => {
                    points.push((x, value));
                    points.push((x, commit));
                    last_change_x = Some(x);
                }
            }
            value = commit;
        }
        let end = now.min(self.to);
        points.push((self.x(end), value));
        let mut text = String::new();
        for (x, commit) in &points {
            let _ = write!(text, "{x:.1},{:.1} ", level(*commit));
        }
        let _ = write!(
            self.out,
            r#"<polyline class="commit" data-node="{}" data-commit-last="{value}" points="{}"><title>node {}: commit index, {value} at tick {end}</title></polyline>"#,
            lane.id,
            text.trim_end(),
            lane.id
        );
    }

    fn marks(&mut self, picture: &Picture) {
        let position_of = |id: NodeId| picture.lanes.iter().position(|lane| lane.id == id);
        let top = self.lane_y(0) - 4.0;
        let bottom = self.lane_y(self.lanes) - LANE_GAP + 4.0;
        for mark in &picture.marks {
            if mark.tick < self.from || mark.tick > self.to {
                continue;
            }
            let x = self.x(mark.tick);
            match mark.node.and_then(position_of) {
                Some(position) => {
                    let y = self.lane_y(position) + LANE_HEIGHT / 2.0;
                    self.shape(mark.kind.class(), x, y, 5.0, Some(&mark.title));
                }
                None => {
                    let _ = write!(
                        self.out,
                        r#"<line class="mark {}" x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"><title>{}</title></line>"#,
                        mark.kind.class(),
                        escape(&mark.title)
                    );
                }
            }
        }
    }

    /// A mark's shape centred on `(x, y)`.
    fn shape(&mut self, class: &str, x: f64, y: f64, r: f64, title: Option<&str>) {
        let title = title.map_or(String::new(), |title| {
            format!("<title>{}</title>", escape(title))
        });
        let _ = match class {
            "crash" => write!(
                self.out,
                r#"<path class="mark crash" d="M{:.1},{:.1}l{:.1},{:.1}m0,{:.1}l{:.1},{:.1}">{title}</path>"#,
                x - r,
                y - r,
                2.0 * r,
                2.0 * r,
                -2.0 * r,
                -2.0 * r,
                2.0 * r
            ),
            "restart" => write!(
                self.out,
                r#"<path class="mark restart" d="M{:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z">{title}</path>"#,
                x - r,
                y + r,
                x + r,
                y + r,
                x,
                y - r
            ),
            "snapshot" => write!(
                self.out,
                r#"<path class="mark snapshot" d="M{x:.1},{:.1}L{:.1},{y:.1}L{x:.1},{:.1}L{:.1},{y:.1}Z">{title}</path>"#,
                y - r,
                x + r,
                y + r,
                x - r
            ),
            "config-committed" => write!(
                self.out,
                r#"<line class="mark config-committed" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}">{title}</line>"#,
                y - r,
                y + r
            ),
            _ => write!(
                self.out,
                r#"<circle class="mark {class}" cx="{x:.1}" cy="{y:.1}" r="{:.1}">{title}</circle>"#,
                r * 0.8
            ),
        };
    }

    fn axis(&mut self) {
        let y = self.lane_y(self.lanes) - LANE_GAP + 8.0;
        let _ = write!(
            self.out,
            r#"<g class="axis"><line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
            LEFT + PLOT_WIDTH
        );
        // About ten labelled ticks, at a round step.
        let span = self.to - self.from;
        let raw = (span / 10).max(1);
        let magnitude = 10u64.pow(raw.ilog10());
        let step = [1, 2, 5, 10]
            .iter()
            .map(|m| m * magnitude)
            .find(|&step| step >= raw)
            .unwrap_or(raw);
        let mut tick = self.from.div_ceil(step) * step;
        while tick <= self.to {
            let x = self.x(tick);
            let _ = write!(
                self.out,
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{tick}</text>"#,
                y + 4.0,
                y + 15.0
            );
            match tick.checked_add(step) {
                Some(next) => tick = next,
                None => break,
            }
        }
        let _ = write!(
            self.out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">tick</text></g>"#,
            LEFT + PLOT_WIDTH,
            y + 28.0
        );
    }
}

/// Colours and strokes, by class.
const STYLE: &str = "<style>\
.follower{fill:#cfe3f7}.pre-candidate{fill:#dfe6a0}.candidate{fill:#f7d774}.leader{fill:#2e8b57}.learner{fill:#b9a7e0}\
.outsider{fill:#e6e6e6}.down{fill:#555}.retired{fill:#bbb}\
.term{fill:#fff;font-weight:bold;pointer-events:none}\
.span.partition rect,.key.partition{fill:#ff9f40;fill-opacity:.25}\
.span.link-cut rect,.key.link-cut{fill:#d62728;fill-opacity:.7}\
.span.disconnected rect,.key.disconnected{fill:#ff7f0e;fill-opacity:.35}\
.span.paused rect,.key.paused{fill:#7f7f7f;fill-opacity:.35}\
.commit{fill:none;stroke:#111;stroke-width:1.2}\
.mark.crash{stroke:#d62728;stroke-width:2.5;fill:none}\
.mark.restart{fill:#2ca02c;stroke:#fff;stroke-width:.8}\
.mark.snapshot{fill:#1f77b4;stroke:#fff;stroke-width:.8}\
.mark.config-proposed{fill:#9467bd;stroke:#fff;stroke-width:.8}\
.mark.config-committed{stroke:#9467bd;stroke-width:1.5;stroke-dasharray:3 2}\
.mark.added{fill:#17becf;stroke:#fff;stroke-width:.8}\
.mark.transfer{fill:#e377c2;stroke:#fff;stroke-width:.8}\
.mark.retire{fill:#000;stroke:#fff;stroke-width:.8}\
.axis line{stroke:#333}\
</style>";

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;
    use crate::sim::{Sim, SimConfig};

    #[test]
    fn a_violated_invariant_writes_the_picture_and_says_where() {
        let mut sim: Sim<u64> = Sim::new(SimConfig::new(3, 77));
        sim.run(300);
        // A disk that loses a write behind the node's back: the checker sees memory and disk
        // disagree after the node's next step.
        sim.nodes[0].durable.hard_state.term += 5;
        let failure = catch_unwind(AssertUnwindSafe(|| sim.run(100))).expect_err("a violation");
        let message = failure
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert!(
            message.contains("Persist actions did not write"),
            "{message}"
        );
        assert!(message.contains("seed 77"), "{message}");
        let path = message
            .split("picture of the run up to here: ")
            .nth(1)
            .expect("the picture's path")
            .trim_end_matches(')');
        let svg = std::fs::read_to_string(path).expect("the picture was written");
        let _ = std::fs::remove_file(path);
        let document = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        let now: u64 = document
            .root_element()
            .attribute("data-now")
            .and_then(|now| now.parse().ok())
            .expect("data-now");
        assert!(
            (300..400).contains(&now),
            "drawn up to the failure, tick {now}"
        );
        assert!(path.contains("seed-77"), "{path}");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"a<b & "c" > 'd'"#),
            "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;"
        );
    }

    #[test]
    fn any_window_draws_a_well_formed_picture() {
        let mut picture = Picture::default();
        picture.add_lane(1, 0, LaneState::Follower, 0);
        picture.observe(1, 10, LaneState::Leader(1), 3);
        picture.crash(12, 1, 0, 0);
        for window in [
            None,
            Some((0, 0)),
            Some((5, 5)),
            Some((9, 3)),
            Some((100, 200)),
            Some((u64::MAX, u64::MAX)),
            Some((0, u64::MAX)),
        ] {
            let svg = picture.svg("a <test>", 20, window);
            let document = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|error| panic!("{window:?}: {error}"));
            let root = document.root_element();
            let from: u64 = root.attribute("data-from").unwrap().parse().unwrap();
            let to: u64 = root.attribute("data-to").unwrap().parse().unwrap();
            assert!(from < to && to <= 21, "{window:?} drew {from}..={to}");
        }
    }

    #[test]
    fn segments_change_only_when_the_state_does() {
        let mut picture = Picture::default();
        picture.add_lane(1, 0, LaneState::Follower, 0);
        picture.observe(1, 3, LaneState::Follower, 0);
        picture.observe(1, 5, LaneState::Candidate, 0);
        picture.observe(1, 6, LaneState::Leader(2), 1);
        picture.observe(1, 9, LaneState::Leader(2), 1);
        picture.observe(1, 9, LaneState::Leader(2), 4);
        let lane = &picture.lanes[0];
        let states: Vec<LaneState> = lane.segments.iter().map(|s| s.state).collect();
        assert_eq!(states, [LaneState::Follower, LaneState::Candidate]);
        assert_eq!(lane.current, (6, LaneState::Leader(2)));
        assert_eq!(lane.commits, [(0, 0), (6, 1), (9, 4)]);
    }
}
