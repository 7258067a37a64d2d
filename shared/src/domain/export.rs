//! A page of requests as CSV that spreadsheets open cleanly and safely: RFC 4180 (a header
//! row, CRLF line ends, a field quoted when it holds a comma, a quote or a line break, quotes
//! doubled), UTF-8 with a byte-order mark on the first page (Excel reads UTF-8 only with
//! one), and no cell a spreadsheet would run as a formula.

use crate::domain::millis::{format_millis, unix_millis};
use crate::domain::supervisor_request::{Note, Outcome, SupervisorRequest};

/// The columns, in order.
pub const COLUMNS: [&str; 12] = [
    "requestId",
    "createdAt",
    "requestType",
    "priority",
    "requestedBy",
    "details",
    "status",
    "decision",
    "respondedBy",
    "respondedAt",
    "timeToAnswerSeconds",
    "note",
];

/// UTF-8's byte-order mark: how Excel tells UTF-8 from the machine's code page.
pub const BOM: char = '\u{feff}';

pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// A page of at most this many rows stays under Lambda's 6 MB response, whatever its
/// requests hold (the test `the_largest_page_stays_under_lambdas_six_megabytes`); the edge's
/// page size is held to it at compile time.
pub const MAX_PAGE_ROWS: usize = 100;

/// Appends one cell. A value beginning with `=`, `+`, `-`, `@`, a tab or a carriage return
/// is a formula to Excel, LibreOffice or Google Sheets (CSV injection: a note reading
/// `=HYPERLINK(…)` would become a link): a leading `'` makes it text, as OWASP advises.
fn cell(out: &mut String, value: &str) {
    let formula = matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let quoted = value.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

fn row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, value) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, value);
    }
    out.push_str("\r\n");
}

/// Seconds with milliseconds, e.g. `41.250`: what a spreadsheet reads as a number.
fn seconds(millis: i64) -> String {
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// One complete CSV document: the header row, then a row per request. The first page of an
/// export starts with the [`BOM`].
pub fn render(requests: &[SupervisorRequest], first_page: bool) -> String {
    let mut out = String::with_capacity(256 * (requests.len() + 1));
    if first_page {
        out.push(BOM);
    }
    row(&mut out, COLUMNS);
    for request in requests {
        let answer = match &request.outcome {
            Outcome::Answered(response) => Some(response),
            Outcome::Pending | Outcome::TimedOut => None,
        };
        let created = format_millis(request.created_at);
        let responded = answer.map(|a| format_millis(a.responded_at));
        let time_to_answer =
            answer.map(|a| seconds(unix_millis(a.responded_at) - unix_millis(request.created_at)));
        let id = request.request_id.to_string();
        row(
            &mut out,
            [
                id.as_str(),
                &created,
                request.request_type.as_str(),
                request.priority.as_str(),
                &request.requested_by,
                request.details.as_str(),
                request.status_code().as_str(),
                answer.map_or("", |a| a.decision.as_str()),
                answer.map_or("", |a| a.responded_by.as_str()),
                responded.as_deref().unwrap_or(""),
                time_to_answer.as_deref().unwrap_or(""),
                answer
                    .and_then(|a| a.note.as_ref())
                    .map_or("", Note::as_str),
            ],
        );
    }
    out
}

/// The rows of a CSV document as a spreadsheet reads them, header included: an RFC 4180
/// reader (the `csv` crate) of its own, for tests. Every row of ours ends with CRLF.
#[cfg(any(test, feature = "dev"))]
pub fn read(text: &str) -> Vec<Vec<String>> {
    assert!(text.ends_with("\r\n"), "rows end with CRLF");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches(BOM).as_bytes())
        .records()
        .map(|record| {
            record
                .expect("RFC 4180")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::StoreId;
    use crate::domain::supervisor_request::{
        Decision, Details, NewRequest, Priority, RequestType, SupervisorResponse,
    };
    use time::macros::datetime;

    fn answered(details: &str, note: &str, by: &str) -> SupervisorRequest {
        let mut request = SupervisorRequest::new(
            StoreId::parse("store-1").unwrap(),
            NewRequest {
                request_type: RequestType::Refund,
                priority: Priority::High,
                details: Details::parse("details", details.into()).unwrap(),
                timeout: None,
            },
            by.into(),
            datetime!(2026-11-23 10:00:00 UTC),
            time::Duration::minutes(10),
        );
        request.outcome = Outcome::Answered(SupervisorResponse {
            decision: Decision::Denied,
            responded_by: by.into(),
            responded_at: datetime!(2026-11-23 10:00:41.25 UTC),
            note: Some(Note::parse("note", note.into()).unwrap()),
        });
        request
    }

    #[test]
    fn a_formula_comes_out_as_text() {
        let text = render(
            &[answered(
                "=HYPERLINK(\"http://evil.example\",\"click\")",
                "+1, -1 and \"@me\"",
                "@sup",
            )],
            false,
        );
        let rows = read(&text);
        assert_eq!(rows[0], COLUMNS);
        let cells = &rows[1];
        assert_eq!(cells[5], "'=HYPERLINK(\"http://evil.example\",\"click\")");
        assert_eq!(cells[11], "'+1, -1 and \"@me\"");
        assert_eq!(cells[4], "'@sup");
        for start in ["-", "@", "+"] {
            let text = render(&[answered("d", &format!("{start}1"), "s")], false);
            assert!(read(&text)[1][11].starts_with('\''), "{start:?}");
        }
        // Free text refuses tabs and carriage returns today; a subject may hold them.
        for value in ["\tx", "\rx"] {
            let mut out = String::new();
            cell(&mut out, value);
            assert_eq!(read(&(out + "\r\n"))[0][0], format!("'{value}"));
        }
    }

    #[test]
    fn rows_hold_the_request_and_its_answer() {
        let request = answered("Line 1\nline 2, aisle 4", "Tag honoured", "sup-1");
        let text = render(std::slice::from_ref(&request), true);
        assert!(text.starts_with(&format!("{BOM}requestId,createdAt,")));
        assert!(text.contains("timeToAnswerSeconds,note\r\n"));
        assert!(!render(&[], false).starts_with(BOM));
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        let id = request.request_id.to_string();
        assert_eq!(
            rows[1],
            [
                id.as_str(),
                "2026-11-23T10:00:00.000Z",
                "REFUND",
                "HIGH",
                "sup-1",
                "Line 1\nline 2, aisle 4",
                "RESPONSE_RECEIVED",
                "DENIED",
                "sup-1",
                "2026-11-23T10:00:41.250Z",
                "41.250",
                "Tag honoured",
            ]
        );
    }

    /// Lambda answers at most 6 MB, the body as a JSON string inside its own JSON. The worst
    /// page: the most rows a page holds, every text at its limit in the widest characters
    /// (a quote doubles in CSV and again in JSON: 4 bytes; a 4-byte character stays 4).
    /// Subjects have no limit of their own but the token's: API Gateway takes 10 KB of
    /// headers, so a `sub` of quotes (`\"` in the claims, base64 on top) is at most 3,840.
    #[test]
    fn the_largest_page_stays_under_lambdas_six_megabytes() {
        let quotes = |n: usize| "\"".repeat(n);
        let wide = |n: usize| "😀".repeat(n);
        for (details, note, subject) in [
            (quotes(1000), quotes(500), quotes(3840)),
            (wide(1000), wide(500), wide(1920)),
        ] {
            let page: Vec<SupervisorRequest> = (0..MAX_PAGE_ROWS)
                .map(|_| answered(&details, &note, &subject))
                .collect();
            let body = render(&page, true);
            let payload = serde_json::to_string(&serde_json::json!({
                "statusCode": 200,
                "headers": {"content-type": CONTENT_TYPE, "link": "x".repeat(2048)},
                "body": body,
            }))
            .unwrap();
            assert!(payload.len() < 6 * 1024 * 1024, "{} bytes", payload.len());
            eprintln!(
                "largest CSV page: {} bytes as Lambda returns it",
                payload.len()
            );
        }
    }
}
