//! QR codes of short texts (an application's access link), drawn as SVG or as a black-and-white PNG, with the
//! four-module quiet zone the standard asks for.

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of white border around the symbol (ISO/IEC 18004 §9.1).
const QUIET_ZONE: i32 = 4;

/// Why a QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the text is too long for a QR code")]
    TooLong,
    #[error("the PNG could not be written: {0}")]
    Png(String),
}

fn encode(text: &str) -> Result<QrCode, QrError> {
    QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| QrError::TooLong)
}

/// The QR code of `text` as an SVG document (one path of unit squares; it scales without blur).
pub fn svg(text: &str) -> Result<String, QrError> {
    let qr = encode(text)?;
    let side = qr.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// The QR code of `text` as a PNG, each module `scale` pixels wide.
pub fn png(text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let qr = encode(text)?;
    let scale = scale.clamp(1, 32);
    let modules = u32::try_from(qr.size() + 2 * QUIET_ZONE).map_err(|_| QrError::TooLong)?;
    let width = modules * scale;
    let mut pixels = Vec::with_capacity((width * width) as usize);
    for row in 0..width {
        for column in 0..width {
            let x = (column / scale) as i32 - QUIET_ZONE;
            let y = (row / scale) as i32 - QUIET_ZONE;
            // get_module answers false outside the symbol: the quiet zone is white.
            pixels.push(if qr.get_module(x, y) { 0u8 } else { 255u8 });
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, width);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| QrError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| QrError::Png(e.to_string()))?;
    writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_draw_the_same_symbol() {
        let text = "https://id.example.org/a/shop";
        // Version 3 at level M: 29 modules and the quiet zone on both sides.
        let svg = svg(text).unwrap_or_default();
        assert!(
            svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 37 37\""),
            "{svg}"
        );
        let png = png(text, 4).unwrap_or_default();
        assert_eq!(&png[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let width = decoder.read_info().map(|r| r.info().width).unwrap_or(0);
        assert_eq!(width, 37 * 4);
    }
}
