package io.pvecri.proxmox.emulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a {@code multipart/form-data} body straight from the connection, file parts spooled to disk
 * as pveproxy does ({@code /var/tmp/pveupload-<hex>}), so template uploads are not bounded by memory.
 */
final class MultipartSpooler {

    private static final Pattern DISPOSITION_NAME = Pattern.compile("\\bname=\"([^\"]*)\"");
    private static final Pattern DISPOSITION_FILE = Pattern.compile("\\bfilename=\"([^\"]*)\"");
    private static final int MAX_FIELD = 1 << 20;

    private final InputStream in;
    private long remaining;
    private final byte[] buf = new byte[1 << 16];
    private int start;
    private int end;

    private MultipartSpooler(InputStream in, long length) {
        this.in = in;
        this.remaining = length;
    }

    /**
     * Parses {@code length} bytes of {@code in}; plain fields go to {@code params}, file parts to files
     * in {@code spoolDir} (the caller deletes them).
     */
    static void parse(InputStream in, long length, String boundary, Path spoolDir, Map<String, List<String>> params,
                      Map<String, EmuRequest.FilePart> files) throws IOException {
        MultipartSpooler s = new MultipartSpooler(in, length);
        try {
            s.run(("--" + boundary).getBytes(StandardCharsets.ISO_8859_1), spoolDir, params, files);
        } catch (IOException | RuntimeException e) {
            for (EmuRequest.FilePart f : files.values()) {
                if (f.spooled() != null) {
                    Files.deleteIfExists(f.spooled());
                }
            }
            throw e;
        }
        s.drain();
    }

    private void run(byte[] delimiter, Path spoolDir, Map<String, List<String>> params, Map<String, EmuRequest.FilePart> files)
            throws IOException {
        // preamble, then the first delimiter
        copyUntil(delimiter, OutputStream.nullOutputStream(), Long.MAX_VALUE, true);
        byte[] crlfDelimiter = new byte[delimiter.length + 2];
        crlfDelimiter[0] = '\r';
        crlfDelimiter[1] = '\n';
        System.arraycopy(delimiter, 0, crlfDelimiter, 2, delimiter.length);
        while (true) {
            String after = readLine();
            if (after.startsWith("--")) {
                return; // closing delimiter
            }
            StringBuilder head = new StringBuilder();
            for (String h = readLine(); !h.isEmpty(); h = readLine()) {
                head.append(h).append('\n');
            }
            Matcher name = DISPOSITION_NAME.matcher(head);
            if (!name.find()) {
                throw new IOException("multipart part without a name");
            }
            Matcher file = DISPOSITION_FILE.matcher(head);
            if (file.find()) {
                Files.createDirectories(spoolDir);
                Path tmp = spoolDir.resolve("pveupload-" + HexFormat.of().formatHex(randomBytes()));
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    copyUntil(crlfDelimiter, out, Long.MAX_VALUE, false);
                }
                files.put(name.group(1), new EmuRequest.FilePart(file.group(1), null, tmp));
                params.computeIfAbsent(name.group(1), k -> new ArrayList<>()).add(file.group(1));
            } else {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                copyUntil(crlfDelimiter, out, MAX_FIELD, false);
                params.computeIfAbsent(name.group(1), k -> new ArrayList<>()).add(out.toString(StandardCharsets.UTF_8));
            }
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** Copies bytes up to (not including) {@code delim} to {@code out} and consumes the delimiter. */
    private void copyUntil(byte[] delim, OutputStream out, long limit, boolean atLineStart) throws IOException {
        long written = 0;
        while (true) {
            int idx = indexOf(delim);
            if (idx >= 0) {
                written += idx - start;
                if (written > limit) {
                    throw new IOException("multipart field too large");
                }
                out.write(buf, start, idx - start);
                start = idx + delim.length;
                return;
            }
            // keep a tail that might be the start of the delimiter
            int keep = Math.min(end - start, delim.length - 1);
            int flush = end - start - keep;
            if (flush > 0) {
                written += flush;
                if (written > limit) {
                    throw new IOException("multipart field too large");
                }
                out.write(buf, start, flush);
                start += flush;
            }
            if (!fill()) {
                throw new IOException("unterminated multipart body");
            }
        }
    }

    private int indexOf(byte[] needle) {
        outer:
        for (int i = start; i <= end - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (buf[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Moves unread bytes to the front and reads more; false at the end of the body. */
    private boolean fill() throws IOException {
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (remaining <= 0 || end == buf.length) {
            return false;
        }
        int n = in.read(buf, end, (int) Math.min(buf.length - end, remaining));
        if (n < 0) {
            throw new IOException("truncated body");
        }
        end += n;
        remaining -= n;
        return true;
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            if (start == end && !fill()) {
                return line.toString(StandardCharsets.UTF_8);
            }
            byte b = buf[start++];
            if (b == '\n') {
                String s = line.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            if (line.size() > 64 * 1024) {
                throw new IOException("multipart header line too long");
            }
            line.write(b);
        }
    }

    /** Reads what is left of the body (epilogue), so the connection can carry the next request. */
    private void drain() throws IOException {
        start = end;
        while (remaining > 0) {
            long skipped = in.skip(remaining);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new IOException("truncated body");
                }
                skipped = 1;
            }
            remaining -= skipped;
        }
    }
}
