//! ListObjectVersions answers with versions and delete markers interleaved in S3's order: keys
//! ascending, each key's versions newest first. s3s serializes the two lists as two runs (every
//! `<DeleteMarker>`, then every `<Version>`); a client that reads the document in order —
//! minio-go, so `mc ls --versions` and `mc undo` — would see a key's markers before the versions
//! they hide. The handler records the true order in the response's extensions and the frontend
//! rewrites the two runs into one here. The bytes are only reordered, so the length stays.

use http_body_util::BodyExt;

use crate::frontend::Response;

/// The kinds of a page's entries in S3 order: `true` for a delete marker, `false` for a version.
#[derive(Debug, Clone)]
pub(crate) struct VersionOrder(pub(crate) Vec<bool>);

/// Rewrites a ListObjectVersions response whose handler recorded a [`VersionOrder`].
pub(crate) async fn interleave(res: Response) -> Response {
    let Some(VersionOrder(order)) = res.extensions().get::<VersionOrder>().cloned() else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    // The body is the serialized page (at most 1000 entries), already in memory.
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "could not read a version listing to interleave");
            parts.status = http::StatusCode::INTERNAL_SERVER_ERROR;
            parts.headers.remove(http::header::CONTENT_LENGTH);
            return http::Response::from_parts(parts, s3s::Body::empty());
        }
    };
    let rewritten = std::str::from_utf8(&bytes).ok().and_then(|xml| interleaved(xml, &order));
    let body = match rewritten {
        Some(xml) => s3s::Body::from(xml),
        None => s3s::Body::from(bytes),
    };
    http::Response::from_parts(parts, body)
}

/// The document with the `<DeleteMarker>` and `<Version>` runs merged in `order`, placed where
/// the versions were; `None` when the document does not have the shape s3s writes.
fn interleaved(xml: &str, order: &[bool]) -> Option<String> {
    let (markers, marker_run) = run(xml, "DeleteMarker")?;
    let (versions, version_run) = run(xml, "Version")?;
    if markers.len() + versions.len() != order.len() || order.iter().filter(|m| **m).count() != markers.len() {
        return None;
    }
    let (mut m, mut v) = (markers.into_iter(), versions.into_iter());
    let merged: String = order
        .iter()
        .map(|is_marker| if *is_marker { m.next() } else { v.next() })
        .collect::<Option<Vec<&str>>>()?
        .concat();
    // Cut both runs out (the later one first, so the earlier range stays valid), then put the
    // merged run where the earlier one was.
    let mut runs = [marker_run, version_run];
    runs.sort();
    let [first, second] = runs;
    if first.1 > second.0 {
        return None;
    }
    let mut out = String::with_capacity(xml.len());
    out.push_str(&xml[..first.0]);
    out.push_str(&merged);
    out.push_str(&xml[first.1..second.0]);
    out.push_str(&xml[second.1..]);
    Some(out)
}

/// The consecutive `<tag>…</tag>` elements of a document and the byte range they span (empty
/// at the end of the document when there are none). Element text is escaped, so a closing tag
/// never appears inside one.
fn run<'x>(xml: &'x str, tag: &str) -> Option<(Vec<&'x str>, (usize, usize))> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let Some(start) = xml.find(&open) else {
        return Some((Vec::new(), (xml.len(), xml.len())));
    };
    let mut elements = Vec::new();
    let mut at = start;
    while xml[at..].starts_with(&open) {
        let end = at + xml[at..].find(&close)? + close.len();
        elements.push(&xml[at..end]);
        at = end;
    }
    // Every element of the kind must be in this one run.
    if xml[at..].contains(&open) {
        return None;
    }
    Some((elements, (start, at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_versions_are_merged_in_the_recorded_order() {
        let xml = "<R><DeleteMarker><Key>a</Key></DeleteMarker><DeleteMarker><Key>c</Key></DeleteMarker>\
                   <IsTruncated>false</IsTruncated><Version><Key>a</Key><VersionId>1</VersionId></Version>\
                   <Version><Key>b</Key></Version><VersionIdMarker></VersionIdMarker></R>";
        let out = interleaved(xml, &[true, false, false, true]).unwrap();
        assert_eq!(
            out,
            "<R><DeleteMarker><Key>a</Key></DeleteMarker><Version><Key>a</Key><VersionId>1</VersionId></Version>\
             <Version><Key>b</Key></Version><DeleteMarker><Key>c</Key></DeleteMarker>\
             <IsTruncated>false</IsTruncated><VersionIdMarker></VersionIdMarker></R>"
        );
        assert_eq!(out.len(), xml.len());
    }

    #[test]
    fn a_document_of_another_shape_is_left_alone() {
        let xml = "<R><Version><Key>a</Key></Version></R>";
        assert_eq!(interleaved(xml, &[true]), None);
        assert_eq!(interleaved(xml, &[false]).as_deref(), Some(xml));
        assert_eq!(interleaved("<R></R>", &[]).as_deref(), Some("<R></R>"));
    }
}
