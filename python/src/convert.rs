//! Python values to Rust ones and back, refusing bad ones with a
//! `TypeError` or `ValueError` (never a panic).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};
use std::time::Duration;
use uuid::Uuid;
use zre::{Event, Frame};

/// One frame: `bytes`, `bytearray`, `memoryview`-like buffers are not
/// accepted (copy them to bytes); `str` is sent as UTF-8.
fn frame(item: &Bound<'_, PyAny>) -> PyResult<Frame> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().into());
    }
    if let Ok(text) = item.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().into());
    }
    if let Ok(array) = item.cast::<PyByteArray>() {
        return Ok(array.to_vec().into());
    }
    Err(PyTypeError::new_err(format!(
        "a message frame must be bytes, bytearray or str, not {}",
        item.get_type().name()?
    )))
}

/// A message: one frame, or a list or tuple of frames.
pub(crate) fn frames(content: &Bound<'_, PyAny>) -> PyResult<Vec<Frame>> {
    if let Ok(list) = content.cast::<PyList>() {
        return list.iter().map(|item| frame(&item)).collect();
    }
    if let Ok(tuple) = content.cast::<PyTuple>() {
        return tuple.iter().map(|item| frame(&item)).collect();
    }
    Ok(vec![frame(content)?])
}

/// A peer's UUID as 16 bytes (`uuid.UUID.bytes`).
pub(crate) fn peer(bytes: &[u8]) -> PyResult<Uuid> {
    Uuid::from_slice(bytes)
        .map_err(|_| PyValueError::new_err(format!("a peer UUID is 16 bytes, not {}", bytes.len())))
}

/// Seconds (int or float) to a duration: finite and not negative.
pub(crate) fn seconds(what: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must be a finite number of seconds >= 0, not {value}"
        ))
    })
}

/// A group name as the core takes it: 1 to 255 bytes.
pub(crate) fn check_group(group: &str) -> PyResult<()> {
    if group.is_empty() || group.len() > 255 {
        return Err(crate::CommandError::new_err(
            zre::CommandError::InvalidGroup(group.to_owned()).to_string(),
        ));
    }
    Ok(())
}

/// An event as the tuple the Python modules unpack:
/// `(kind, peer, name, group, content, headers, endpoint)`, with `None`
/// where the event has no such field.
pub(crate) fn event<'py>(
    py: Python<'py>,
    event: Event,
    recycle: impl FnOnce(Vec<Frame>),
) -> PyResult<Bound<'py, PyTuple>> {
    let none = || py.None().into_bound(py);
    let kind = PyString::intern(py, event.kind()).into_any();
    let uuid = |peer: &Uuid| PyBytes::new(py, peer.as_bytes()).into_any();
    let text = |s: &str| PyString::new(py, s).into_any();
    let mut recycle = Some(recycle);
    let mut content = |content: Vec<Frame>| -> PyResult<Bound<'py, PyAny>> {
        let list = PyList::new(py, content.iter().map(|f| PyBytes::new(py, f)))?.into_any();
        if let Some(recycle) = recycle.take() {
            recycle(content);
        }
        Ok(list)
    };
    let fields: [Bound<'py, PyAny>; 7] = match event {
        Event::Enter {
            peer,
            name,
            headers,
            endpoint,
        } => {
            let headers = PyList::new(
                py,
                headers
                    .iter()
                    .map(|(k, v)| PyTuple::new(py, [k.as_str(), v.as_str()]))
                    .collect::<PyResult<Vec<_>>>()?,
            )?;
            [
                kind,
                uuid(&peer),
                text(&name),
                none(),
                none(),
                headers.into_any(),
                text(&endpoint),
            ]
        }
        Event::Exit { peer, name } | Event::Evasive { peer, name } | Event::Silent { peer, name } => {
            [kind, uuid(&peer), text(&name), none(), none(), none(), none()]
        }
        Event::Join { peer, name, group }
        | Event::Leave { peer, name, group }
        | Event::Leader { peer, name, group } => [
            kind,
            uuid(&peer),
            text(&name),
            text(&group),
            none(),
            none(),
            none(),
        ],
        Event::Whisper {
            peer,
            name,
            content: c,
        } => [
            kind,
            uuid(&peer),
            text(&name),
            none(),
            content(c)?,
            none(),
            none(),
        ],
        Event::Shout {
            peer,
            name,
            group,
            content: c,
        } => [
            kind,
            uuid(&peer),
            text(&name),
            text(&group),
            content(c)?,
            none(),
            none(),
        ],
        Event::Stop => [kind, none(), none(), none(), none(), none(), none()],
    };
    PyTuple::new(py, fields)
}

/// The kinds pyre 0.3.4 emits; the others only with `extra_events`.
fn pyre_emits(event: &Event) -> bool {
    !matches!(
        event,
        Event::Evasive { .. } | Event::Silent { .. } | Event::Leader { .. }
    )
}

/// An event as pyre's frame list (`[b"ENTER", uuid, name, headers_json,
/// endpoint]`, `[b"SHOUT", uuid, name, group, *content]`, ...; STOP names
/// `us`), or `None` for a kind pyre does not emit unless `extra`.
pub(crate) fn pyre_frames<'py>(
    py: Python<'py>,
    event: Event,
    us: (&Uuid, &str),
    extra: bool,
    recycle: impl FnOnce(Vec<Frame>),
) -> PyResult<Option<Bound<'py, PyList>>> {
    if !extra && !pyre_emits(&event) {
        return Ok(None);
    }
    let bytes = |b: &[u8]| PyBytes::new(py, b);
    let kind = bytes(event.kind().as_bytes());
    let list = match event {
        Event::Enter {
            peer,
            name,
            headers,
            endpoint,
        } => PyList::new(
            py,
            [
                kind,
                bytes(peer.as_bytes()),
                bytes(name.as_bytes()),
                bytes(headers_json(&headers).as_bytes()),
                bytes(endpoint.as_bytes()),
            ],
        )?,
        Event::Exit { peer, name } | Event::Evasive { peer, name } | Event::Silent { peer, name } => {
            PyList::new(py, [kind, bytes(peer.as_bytes()), bytes(name.as_bytes())])?
        }
        Event::Join { peer, name, group }
        | Event::Leave { peer, name, group }
        | Event::Leader { peer, name, group } => PyList::new(
            py,
            [
                kind,
                bytes(peer.as_bytes()),
                bytes(name.as_bytes()),
                bytes(group.as_bytes()),
            ],
        )?,
        Event::Whisper { peer, name, content } => {
            let list = PyList::new(
                py,
                [kind, bytes(peer.as_bytes()), bytes(name.as_bytes())]
                    .into_iter()
                    .chain(content.iter().map(|f| bytes(f))),
            )?;
            recycle(content);
            list
        }
        Event::Shout {
            peer,
            name,
            group,
            content,
        } => PyList::new(
            py,
            [
                kind,
                bytes(peer.as_bytes()),
                bytes(name.as_bytes()),
                bytes(group.as_bytes()),
            ]
            .into_iter()
            .chain(content.iter().map(|f| bytes(f))),
        )?,
        Event::Stop => PyList::new(py, [kind, bytes(us.0.as_bytes()), bytes(us.1.as_bytes())])?,
    };
    Ok(Some(list))
}

/// HELLO headers as Python's `json.dumps(dict)` writes them (what pyre
/// sends in ENTER): `{"k": "v", "k2": "v2"}`, ASCII only (`\uXXXX`
/// escapes), the first of a repeated key kept at its place.
pub(crate) fn headers_json(headers: &[(String, String)]) -> String {
    let mut out = String::from("{");
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in headers {
        if seen.contains(&key.as_str()) {
            continue;
        }
        if !seen.is_empty() {
            out.push_str(", ");
        }
        seen.push(key);
        json_string(&mut out, key);
        out.push_str(": ");
        json_string(&mut out, value);
    }
    out.push('}');
    out
}

fn json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Python's ensure_ascii escapes all but ' '..='~' (DEL too).
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::headers_json;

    #[test]
    fn headers_json_is_what_python_json_dumps_writes() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(headers_json(&[]), "{}");
        assert_eq!(headers_json(&h(&[("X-TEST", "1")])), r#"{"X-TEST": "1"}"#);
        assert_eq!(
            headers_json(&h(&[("a", "1"), ("b", "q\"\\\n\u{1}é🚀"), ("a", "2")])),
            r#"{"a": "1", "b": "q\"\\\n\u0001\u00e9\ud83d\ude80"}"#
        );
        assert_eq!(headers_json(&h(&[("del", "\u{7f}")])), r#"{"del": "\u007f"}"#);
    }
}
