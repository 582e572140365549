package io.pvecri.daemon.streaming;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Splits the resize stream into terminal sizes. The client writes one JSON object per resize,
 * {@code {"Width":80,"Height":24}} (Go's remotecommand.TerminalSize), back to back and possibly
 * split or merged across frames; objects are cut at their closing brace (strings are skipped).
 */
final class ResizeDecoder {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_OBJECT = 4096;

    interface Listener {
        void resize(int cols, int rows);
    }

    private final Listener listener;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int depth;
    private boolean inString;
    private boolean escaped;

    ResizeDecoder(Listener listener) {
        this.listener = listener;
    }

    void feed(byte[] data) {
        for (byte b : data) {
            if (depth == 0 && b != '{') {
                continue; // whitespace (the encoder's newlines) between objects
            }
            pending.write(b);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (b == '\\') {
                    escaped = true;
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{') {
                depth++;
            } else if (b == '}' && --depth == 0) {
                emit();
            }
            if (pending.size() > MAX_OBJECT) { // not a terminal size; start over
                reset();
            }
        }
    }

    private void emit() {
        try {
            JsonNode n = JSON.readTree(pending.toByteArray());
            int w = n.path("Width").asInt(0);
            int h = n.path("Height").asInt(0);
            if (w > 0 && h > 0 && w <= 0xffff && h <= 0xffff) {
                listener.resize(w, h);
            }
        } catch (IOException e) {
            // a malformed object is ignored, as kubelet's decoder would stop; keep going
        }
        reset();
    }

    private void reset() {
        pending.reset();
        depth = 0;
        inString = false;
        escaped = false;
    }
}
