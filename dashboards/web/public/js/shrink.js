// A photo made small on the phone before it is sent: decoded, turned upright (EXIF orientation),
// scaled so its long side is the server's stored size (GET /me: photo_max_side_px) and encoded
// as JPEG q0.85 — a 12 Mpx camera picture of 4 MB goes over a weak network as a few hundred KB,
// and its EXIF (camera, GPS) never leaves the phone. The server re-encodes it anyway, so
// nothing is lost that would have been kept. A file the browser cannot decode (or a JPEG
// already small enough) goes as it is: the server decides what it takes.

export const QUALITY = 0.85;

async function decode(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
}

function encode(bitmap, w, h, quality) {
  const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(w, h) : Object.assign(document.createElement("canvas"), { width: w, height: h });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // transparency on white, as the server flattens it
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, w, h);
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality });
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

/** The file to upload for `file`: a JPEG at most `maxSide` px a side, or `file` itself. */
export async function shrinkPhoto(file, maxSide, quality = QUALITY) {
  if (!(file instanceof Blob) || !(maxSide > 0)) return file;
  const bitmap = await decode(file);
  if (!bitmap) return file;
  try {
    const long = Math.max(bitmap.width, bitmap.height);
    if (!long) return file;
    const scale = Math.min(1, maxSide / long);
    if (scale === 1 && file.type === "image/jpeg") return file; // already the size it will be stored at
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    let blob = null;
    try { blob = await encode(bitmap, w, h, quality); } catch { blob = null; }
    if (!blob || !blob.size || (scale === 1 && blob.size >= file.size)) return file;
    const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
    return new File([blob], name, { type: "image/jpeg" });
  } finally {
    bitmap.close();
  }
}

/** Every picked file shrunk, in order (one at a time: a phone has little memory for bitmaps). */
export async function shrinkAll(files, maxSide) {
  const out = [];
  for (const f of files) out.push(await shrinkPhoto(f, maxSide));
  return out;
}
