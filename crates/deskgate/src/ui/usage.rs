//! A server's usage drawn from its audit records: calls per UTC day with their errors, and
//! latency percentiles, summed in pure code (tested below) and drawn as an inline SVG bar chart
//! on the server. Hand-written because it is a handful of rectangles: a chart library would
//! need a script (or a build step) for what maud writes directly, and the page's CSP allows
//! no inline script.

use maud::{Markup, html};

use crate::audit::Outcome;
use crate::timestamp::Timestamp;

const DAY_MS: i64 = 86_400_000;
/// Days the console's usage charts cover.
pub const DAYS: usize = 7;
/// Most records a usage sum reads (newest first); past it the page says so.
pub const LIMIT: u32 = 10_000;

/// The first instant of the `DAYS` UTC days ending today.
pub fn window_start(now: Timestamp) -> Timestamp {
    Timestamp((now.millis().div_euclid(DAY_MS) - DAYS as i64 + 1) * DAY_MS)
}

/// One UTC day of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `MM-DD`.
    pub label: String,
    /// `YYYY-MM-DD`, for the logs page's date filter.
    pub date: String,
    pub ok: usize,
    pub errors: usize,
}

impl Day {
    pub fn calls(&self) -> usize {
        self.ok + self.errors
    }
}

/// What the server page shows of a server's last days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Oldest first, the last one today.
    pub days: Vec<Day>,
    pub calls: usize,
    pub errors: usize,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
}

/// Whether a call failed, as an operator counts it: anything the model had to act on (bad
/// arguments, a refusal, a limit, an upstream error). A held or still-pending write is not one.
pub fn is_error(outcome: Outcome) -> bool {
    !matches!(outcome, Outcome::Ok | Outcome::Held | Outcome::Pending)
}

/// One call as the sums see it: when, how it ended, how long it took (ms).
pub type Call = (Timestamp, Outcome, u64);

/// Sums `calls` over the `days` UTC days ending today (calls outside them are ignored).
pub fn usage(calls: impl IntoIterator<Item = Call>, now: Timestamp, days: usize) -> Usage {
    let today = now.millis().div_euclid(DAY_MS);
    let first = today - days as i64 + 1;
    let mut out: Vec<Day> = (first..=today)
        .map(|day| {
            let date = Timestamp(day * DAY_MS).to_rfc3339()[..10].to_owned();
            Day {
                label: date[5..].to_owned(),
                date,
                ok: 0,
                errors: 0,
            }
        })
        .collect();
    let mut durations = Vec::new();
    for (at, outcome, duration_ms) in calls {
        let day = at.millis().div_euclid(DAY_MS);
        if day < first || day > today {
            continue;
        }
        let slot = &mut out[(day - first) as usize];
        if is_error(outcome) {
            slot.errors += 1;
        } else {
            slot.ok += 1;
        }
        durations.push(duration_ms);
    }
    durations.sort_unstable();
    Usage {
        calls: out.iter().map(Day::calls).sum(),
        errors: out.iter().map(|d| d.errors).sum(),
        days: out,
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

/// Calls per day as bars (errors stacked on top, in their own colour), with the counts written
/// above them; the table beside it says the same for screen readers and small screens.
pub fn chart(usage: &Usage) -> Markup {
    const W: usize = 700;
    const H: usize = 180;
    const TOP: usize = 24;
    const BOTTOM: usize = 28;
    let slot = W / usage.days.len().max(1);
    let bar = slot * 3 / 5;
    let max = usage.days.iter().map(Day::calls).max().unwrap_or(0).max(1);
    let plot = H - TOP - BOTTOM;
    let height = |n: usize| n * plot / max;
    html! {
        svg.usage-chart #usage-chart viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-labelledby="usage-chart-title" preserveAspectRatio="xMidYMid meet" {
            title #usage-chart-title {
                "Calls per day, last " (usage.days.len()) " days: "
                @for (i, d) in usage.days.iter().enumerate() {
                    @if i > 0 { ", " }
                    (d.label) " " (d.calls()) " (" (d.errors) " errors)"
                }
            }
            line.axis x1="0" y1=(H - BOTTOM) x2=(W) y2=(H - BOTTOM) {}
            @for (i, d) in usage.days.iter().enumerate() {
                @let x = i * slot + (slot - bar) / 2;
                @let ok_h = height(d.ok);
                @let err_h = height(d.errors);
                @let base = H - BOTTOM;
                g.day data-date=(d.date) data-calls=(d.calls()) data-errors=(d.errors) {
                    @if ok_h > 0 {
                        rect.bar-ok x=(x) y=(base - ok_h) width=(bar) height=(ok_h) {}
                    }
                    @if err_h > 0 {
                        rect.bar-error x=(x) y=(base - ok_h - err_h) width=(bar) height=(err_h) {}
                    }
                    text.count x=(x + bar / 2) y=(base - ok_h - err_h - 6) text-anchor="middle" { (d.calls()) }
                    text.label x=(x + bar / 2) y=(H - 8) text-anchor="middle" { (d.label) }
                }
            }
        }
    }
}

/// A usage card: the figures, the chart, and what they are based on. `id` names the section;
/// `heading` is its heading level (`h2` or `h3`).
pub fn section(id: &str, heading: &str, usage: &Usage, truncated: bool) -> Markup {
    let title = html! { "Usage, last " (usage.days.len()) " days" };
    html! {
        section.card #(id) aria-labelledby="usage-heading" {
            @if heading == "h2" { h2 #usage-heading { (title) } } @else { h3 #usage-heading { (title) } }
            dl.figures {
                div { dt { "Calls" } dd #usage-calls { (usage.calls) } }
                div { dt { "Errors" } dd #usage-errors { (usage.errors) } }
                div { dt { "p50" } dd #usage-p50 { (ms(usage.p50_ms)) } }
                div { dt { "p95" } dd #usage-p95 { (ms(usage.p95_ms)) } }
            }
            (chart(usage))
            @if truncated {
                p.muted.small { "Summed over the latest " (LIMIT) " calls only." }
            }
            p.muted.small { "Days are UTC; latency is deskgate's whole handling of a call, Gorgias included." }
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
        (at, outcome, duration_ms)
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
        let u = usage(records, now, 7);
        assert_eq!(u.days.len(), 7);
        assert_eq!(u.days[6].date, "2024-03-05");
        assert_eq!(u.days[6].label, "03-05");
        assert_eq!(u.days[0].date, "2024-02-28");
        assert_eq!((u.days[6].ok, u.days[6].errors), (2, 1));
        assert_eq!((u.days[5].ok, u.days[5].errors), (0, 1));
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
            7,
        );
        let svg = chart(&u).into_string();
        assert_eq!(svg.matches("<g class=\"day\"").count(), 7);
        assert!(svg.contains("data-calls=\"2\" data-errors=\"1\""), "{svg}");
        assert!(svg.contains("class=\"bar-error\""));
        assert!(svg.contains("03-05 2 (1 errors)"));
    }
}
