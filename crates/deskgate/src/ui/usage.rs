//! A server's or an account's usage drawn from its audit records: calls per time slot (the last
//! hour in 5-minute slots, the last day in hours, the last week in UTC days) with their errors,
//! and latency percentiles, summed in pure code (tested below) and drawn as an inline SVG bar
//! chart on the server. Hand-written because it is a handful of rectangles: a chart library would
//! need a script (or a build step) for what maud writes directly, and the page's CSP allows
//! no inline script.

use maud::{Markup, html};

use crate::audit::Outcome;
use crate::timestamp::Timestamp;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Most records a usage sum reads (newest first); past it the page says so.
pub const LIMIT: u32 = 10_000;

/// The span a usage chart covers, chosen with `?range=` on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Range {
    Hour,
    Day,
    #[default]
    Week,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::Day, Range::Week];

    /// The width of one bar and how many bars.
    fn slots(self) -> (i64, i64) {
        match self {
            Range::Hour => (5 * MINUTE_MS, 12),
            Range::Day => (HOUR_MS, 24),
            Range::Week => (DAY_MS, 7),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Range::Hour => "hour",
            Range::Day => "day",
            Range::Week => "week",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Range::Hour => "last hour",
            Range::Day => "last 24 hours",
            Range::Week => "last 7 days",
        }
    }

    fn per(self) -> &'static str {
        match self {
            Range::Hour => "Calls per 5 minutes",
            Range::Day => "Calls per hour",
            Range::Week => "Calls per day",
        }
    }

    /// The first instant of the range's slots, the last of which holds `now`.
    pub fn start(self, now: Timestamp) -> Timestamp {
        let (width, count) = self.slots();
        Timestamp((now.millis().div_euclid(width) - count + 1) * width)
    }
}

/// One slot of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// `MM-DD` for a day, `HH:MM` (UTC) for an hour or 5 minutes.
    pub label: String,
    /// The slot's start, `YYYY-MM-DD` for a day, RFC 3339 otherwise.
    pub date: String,
    pub ok: usize,
    pub errors: usize,
    /// The least of the helpdesk's rate-limit bucket left after a call in the slot, in percent;
    /// `None` when no answer in it reported the bucket.
    pub headroom: Option<u64>,
}

impl Slot {
    pub fn calls(&self) -> usize {
        self.ok + self.errors
    }
}

/// What the server page shows of a server's last hour, day or week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub range: Range,
    /// Oldest first, the last one holding now.
    pub slots: Vec<Slot>,
    pub calls: usize,
    pub errors: usize,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// The least headroom over the whole range, in percent.
    pub lowest_headroom: Option<u64>,
}

/// Whether a call failed, as an operator counts it: anything the model had to act on (bad
/// arguments, a refusal, a limit, an upstream error). A held or still-pending write is not one.
pub fn is_error(outcome: Outcome) -> bool {
    !matches!(outcome, Outcome::Ok | Outcome::Held | Outcome::Pending)
}

/// One call as the sums see it: when, how it ended, how long it took (ms), and the helpdesk's
/// bucket its answer reported (size, left).
pub type Call = (Timestamp, Outcome, u64, Option<(u64, u64)>);

/// A stored call record as the sums see it.
pub fn call_of(r: &crate::audit::ToolCallRecord) -> Call {
    (
        r.at,
        r.outcome,
        r.duration_ms,
        r.ratelimit_limit.zip(r.ratelimit_remaining),
    )
}

/// Sums `calls` over the range's slots ending with the one that holds `now` (calls outside
/// them are ignored).
pub fn usage(calls: impl IntoIterator<Item = Call>, now: Timestamp, range: Range) -> Usage {
    let (width, count) = range.slots();
    let current = now.millis().div_euclid(width);
    let first = current - count + 1;
    let mut out: Vec<Slot> = (first..=current)
        .map(|slot| {
            let start = Timestamp(slot * width).to_rfc3339();
            let (label, date) = if range == Range::Week {
                (start[5..10].to_owned(), start[..10].to_owned())
            } else {
                (start[11..16].to_owned(), start.clone())
            };
            Slot {
                label,
                date,
                ok: 0,
                errors: 0,
                headroom: None,
            }
        })
        .collect();
    let mut durations = Vec::new();
    for (at, outcome, duration_ms, bucket) in calls {
        let index = at.millis().div_euclid(width);
        if index < first || index > current {
            continue;
        }
        let slot = &mut out[(index - first) as usize];
        if is_error(outcome) {
            slot.errors += 1;
        } else {
            slot.ok += 1;
        }
        if let Some((limit, left)) = bucket.filter(|(limit, _)| *limit > 0) {
            let percent = left.min(limit) * 100 / limit;
            slot.headroom = Some(slot.headroom.map_or(percent, |h| h.min(percent)));
        }
        durations.push(duration_ms);
    }
    durations.sort_unstable();
    Usage {
        range,
        lowest_headroom: out.iter().filter_map(|d| d.headroom).min(),
        calls: out.iter().map(Slot::calls).sum(),
        errors: out.iter().map(|d| d.errors).sum(),
        slots: out,
        p50_ms: percentile(&durations, 50),
        p95_ms: percentile(&durations, 95),
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// Where a chart's bars go: the slots side by side across the width, each bar the middle three
/// fifths of its slot, standing on an axis above the labels. Shared by both charts.
struct Bars {
    slots: usize,
    slot: usize,
    bar: usize,
    /// The canvas height; the axis is `BOTTOM` above it.
    h: usize,
}

impl Bars {
    const W: usize = 700;
    const BOTTOM: usize = 28;

    fn new(slots: usize, h: usize) -> Self {
        let slot = Self::W / slots.max(1);
        Bars {
            slots,
            slot,
            bar: slot * 3 / 5,
            h,
        }
    }

    /// Where bars stand.
    fn base(&self) -> usize {
        self.h - Self::BOTTOM
    }

    fn x(&self, i: usize) -> usize {
        i * self.slot + (self.slot - self.bar) / 2
    }

    fn middle(&self, i: usize) -> usize {
        self.x(i) + self.bar / 2
    }

    /// 24 slots leave no room for every figure: counts then stay in the title.
    fn figures_fit(&self) -> bool {
        self.slots <= 12
    }

    fn axis(&self) -> Markup {
        html! { line.axis x1="0" y1=(self.base()) x2=(Self::W) y2=(self.base()) {} }
    }

    /// A slot's label under the axis; with 24 slots, every other one.
    fn label(&self, i: usize, text: &str) -> Markup {
        html! {
            @if self.figures_fit() || i.is_multiple_of(2) {
                text.label x=(self.middle(i)) y=(self.h - 8) text-anchor="middle" { (text) }
            }
        }
    }

    fn view_box(&self) -> String {
        format!("0 0 {} {}", Self::W, self.h)
    }
}

/// Calls per slot as bars (errors stacked on top, in their own colour), with the counts written
/// above them; the table beside it says the same for screen readers and small screens.
pub fn chart(usage: &Usage) -> Markup {
    const TOP: usize = 24;
    let bars = Bars::new(usage.slots.len(), 180);
    let max = usage
        .slots
        .iter()
        .map(Slot::calls)
        .max()
        .unwrap_or(0)
        .max(1);
    let plot = bars.base() - TOP;
    let height = |n: usize| n * plot / max;
    html! {
        svg.usage-chart #usage-chart viewBox=(bars.view_box()) role="img"
            aria-labelledby="usage-chart-title" preserveAspectRatio="xMidYMid meet" {
            title #usage-chart-title {
                (usage.range.per()) ", " (usage.range.title()) " (UTC): "
                @for (i, d) in usage.slots.iter().enumerate() {
                    @if i > 0 { ", " }
                    (d.label) " " (d.calls()) " (" (d.errors) " errors)"
                }
            }
            (bars.axis())
            @for (i, d) in usage.slots.iter().enumerate() {
                @let x = bars.x(i);
                @let ok_h = height(d.ok);
                @let err_h = height(d.errors);
                @let base = bars.base();
                g.day data-date=(d.date) data-calls=(d.calls()) data-errors=(d.errors) {
                    @if ok_h > 0 {
                        rect.bar-ok x=(x) y=(base - ok_h) width=(bars.bar) height=(ok_h) {}
                    }
                    @if err_h > 0 {
                        rect.bar-error x=(x) y=(base - ok_h - err_h) width=(bars.bar) height=(err_h) {}
                    }
                    @if bars.figures_fit() {
                        text.count x=(bars.middle(i)) y=(base - ok_h - err_h - 6) text-anchor="middle" { (d.calls()) }
                    }
                    (bars.label(i, &d.label))
                }
            }
        }
    }
}

/// The least rate-limit headroom per slot as bars on a 0–100 % scale; a slot no answer
/// reported stays empty.
pub fn headroom_chart(usage: &Usage) -> Markup {
    const TOP: usize = 20;
    let bars = Bars::new(usage.slots.len(), 120);
    let plot = (bars.base() - TOP) as u64;
    html! {
        svg.usage-chart.headroom-chart #headroom-chart viewBox=(bars.view_box()) role="img"
            aria-labelledby="headroom-chart-title" preserveAspectRatio="xMidYMid meet" {
            title #headroom-chart-title {
                "Least rate-limit headroom, " (usage.range.title()) " (UTC): "
                @for (i, d) in usage.slots.iter().enumerate() {
                    @if i > 0 { ", " }
                    (d.label) " " @if let Some(h) = d.headroom { (h) "%" } @else { "no data" }
                }
            }
            (bars.axis())
            @for (i, d) in usage.slots.iter().enumerate() {
                @let base = bars.base();
                g.slot data-date=(d.date) data-headroom=[d.headroom] {
                    @if let Some(h) = d.headroom {
                        @let height = (h * plot / 100) as usize;
                        rect class=(if h < 10 { "bar-error" } else { "bar-ok" })
                            x=(bars.x(i)) y=(base - height) width=(bars.bar) height=(height) {}
                        @if bars.figures_fit() {
                            text.count x=(bars.middle(i)) y=(base - height - 4) text-anchor="middle" { (h) "%" }
                        }
                    }
                    (bars.label(i, &d.label))
                }
            }
        }
    }
}

/// A usage card: the figures, the chart, links to the other ranges (`href` is the page's path;
/// `?range=` is added), and what they are based on. `id` names the section; `heading` is its
/// heading level (`h2` or `h3`).
pub fn section(id: &str, heading: &str, href: &str, usage: &Usage, truncated: bool) -> Markup {
    let title = html! { "Usage, " (usage.range.title()) };
    html! {
        section.card #(id) aria-labelledby="usage-heading" {
            @if heading == "h2" { h2 #usage-heading { (title) } } @else { h3 #usage-heading { (title) } }
            nav.usage-ranges aria-label="Usage range" {
                @for r in Range::ALL {
                    @if r == usage.range {
                        span.current aria-current="page" { (r.title()) }
                    } @else {
                        a href={ (href) "?range=" (r.as_str()) "#" (id) } data-range=(r.as_str()) { (r.title()) }
                    }
                    " "
                }
            }
            dl.figures {
                div { dt { "Calls" } dd #usage-calls { (usage.calls) } }
                div { dt { "Errors" } dd #usage-errors { (usage.errors) } }
                div { dt { "p50" } dd #usage-p50 { (ms(usage.p50_ms)) } }
                div { dt { "p95" } dd #usage-p95 { (ms(usage.p95_ms)) } }
                div { dt { "Least headroom" } dd #usage-headroom {
                    @if let Some(h) = usage.lowest_headroom { (h) "%" } @else { "—" }
                } }
            }
            (chart(usage))
            h4.chart-heading { "Rate-limit headroom (least left of Gorgias's bucket after a call)" }
            @if usage.lowest_headroom.is_some() {
                (headroom_chart(usage))
            } @else {
                p.muted.small #no-headroom { "No answer from Gorgias in this range reported its rate limit." }
            }
            @if truncated {
                p.muted.small { "Summed over the latest " (LIMIT) " calls only." }
            }
            p.muted.small { "Times are UTC; latency is deskgate's whole handling of a call, Gorgias included." }
        }
    }
}

fn ms(value: Option<u64>) -> String {
    match value {
        Some(v) => format!("{v} ms"),
        None => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: Timestamp, outcome: Outcome, duration_ms: u64) -> Call {
        (at, outcome, duration_ms, None)
    }

    #[test]
    fn calls_fall_on_their_utc_day_with_errors_apart() {
        // 2024-03-05T07:08:09Z
        let now = Timestamp(1_709_622_489_000);
        let yesterday = now.plus_secs(-86_400);
        let long_ago = now.plus_secs(-30 * 86_400);
        let records = vec![
            record(now, Outcome::Ok, 10),
            record(now, Outcome::UpstreamFailure, 30),
            record(now, Outcome::Held, 20),
            record(yesterday, Outcome::Refused, 40),
            record(long_ago, Outcome::Ok, 1000),
        ];
        let u = usage(records, now, Range::Week);
        assert_eq!(u.slots.len(), 7);
        assert_eq!(u.slots[6].date, "2024-03-05");
        assert_eq!(u.slots[6].label, "03-05");
        assert_eq!(u.slots[0].date, "2024-02-28");
        assert_eq!((u.slots[6].ok, u.slots[6].errors), (2, 1));
        assert_eq!((u.slots[5].ok, u.slots[5].errors), (0, 1));
        assert_eq!(
            (u.calls, u.errors),
            (4, 2),
            "the old call is outside the week"
        );
        assert_eq!(u.p50_ms, Some(20));
        assert_eq!(u.p95_ms, Some(40));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn the_chart_has_a_bar_group_per_day_and_says_its_figures() {
        let now = Timestamp(1_709_622_489_000);
        let u = usage(
            [
                record(now, Outcome::Ok, 5),
                record(now, Outcome::RateLimited, 5),
            ],
            now,
            Range::Week,
        );
        let svg = chart(&u).into_string();
        assert_eq!(svg.matches("<g class=\"day\"").count(), 7);
        assert!(svg.contains("data-calls=\"2\" data-errors=\"1\""), "{svg}");
        assert!(svg.contains("class=\"bar-error\""));
        assert!(svg.contains("03-05 2 (1 errors)"));
    }

    #[test]
    fn the_last_hour_is_in_five_minute_slots_and_the_last_day_in_hours() {
        // 2024-03-05T07:08:09Z
        let now = Timestamp(1_709_622_489_000);
        let calls = [
            record(now, Outcome::Ok, 10),
            record(now.plus_secs(-6 * 60), Outcome::UpstreamFailure, 10),
            record(now.plus_secs(-2 * 3600), Outcome::Ok, 10),
        ];
        let hour = usage(calls, now, Range::Hour);
        assert_eq!(hour.slots.len(), 12);
        assert_eq!(hour.slots[11].label, "07:05");
        assert_eq!(hour.slots[10].label, "07:00");
        // 07:02:09 falls in the 07:00 slot.
        assert_eq!((hour.slots[11].ok, hour.slots[10].errors), (1, 1));
        assert_eq!(
            (hour.calls, hour.errors),
            (2, 1),
            "two hours ago is outside the hour"
        );
        assert_eq!(Range::Hour.start(now).to_rfc3339()[11..16], *"06:10");
        let day = usage(calls, now, Range::Day);
        assert_eq!(day.slots.len(), 24);
        assert_eq!(day.slots[23].label, "07:00");
        assert_eq!(day.slots[21].label, "05:00");
        assert_eq!((day.slots[23].calls(), day.slots[21].calls()), (2, 1));
        assert_eq!(
            Range::Day.start(now).to_rfc3339()[..16],
            *"2024-03-04T08:00"
        );
    }

    #[test]
    fn the_card_links_the_other_ranges() {
        let now = Timestamp(1_709_622_489_000);
        let html = section("u", "h2", "/ui/x", &usage([], now, Range::Day), false).into_string();
        assert!(html.contains("Usage, last 24 hours"), "{html}");
        assert!(html.contains("href=\"/ui/x?range=hour#u\""), "{html}");
        assert!(html.contains("href=\"/ui/x?range=week#u\""), "{html}");
        assert!(
            !html.contains("?range=day"),
            "the current range is not a link: {html}"
        );
    }

    #[test]
    fn headroom_is_the_least_left_per_slot() {
        let now = Timestamp(1_709_622_489_000);
        let calls = [
            (now, Outcome::Ok, 5, Some((40, 30))),
            (now, Outcome::Ok, 5, Some((40, 2))),
            (now.plus_secs(-3600), Outcome::Ok, 5, Some((40, 40))),
            (now.plus_secs(-7200), Outcome::Ok, 5, None),
        ];
        let u = usage(calls, now, Range::Day);
        assert_eq!(u.slots[23].headroom, Some(5), "2 of 40 left");
        assert_eq!(u.slots[22].headroom, Some(100));
        assert_eq!(u.slots[21].headroom, None, "no answer reported it");
        assert_eq!(u.lowest_headroom, Some(5));
        let svg = headroom_chart(&u).into_string();
        assert!(svg.contains("data-headroom=\"5\""), "{svg}");
        assert!(
            svg.contains("class=\"bar-error\""),
            "under a tenth left is drawn as pressure"
        );
        let empty = section("u", "h2", "/x", &usage([], now, Range::Hour), false).into_string();
        assert!(empty.contains("no-headroom"));
    }
}
