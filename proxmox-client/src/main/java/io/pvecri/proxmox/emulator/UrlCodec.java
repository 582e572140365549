package io.pvecri.proxmox.emulator;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Decoding as PVE's HTTP server does it (PVE::APIServer::AnyEvent::decode_urlencoded, uri_unescape). */
final class UrlCodec {

    private UrlCodec() {
    }

    /** {@code %XX} to bytes, then UTF-8; {@code +} stays. */
    static String decode(String s) {
        return unescape(s, false);
    }

    /**
     * {@code application/x-www-form-urlencoded} / query string: pairs split on {@code &} <em>and</em>
     * {@code ;}; each pair split on {@code =} keeping only the first two pieces (so a raw {@code =} in a
     * value truncates it, exactly like Perl's {@code split(/=/, $kv)}); {@code +} is a space.
     */
    static Map<String, List<String>> decodeForm(String data) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (data == null || data.isEmpty()) {
            return out;
        }
        for (String kv : data.split("[&;]")) {
            if (kv.isEmpty()) {
                continue;
            }
            String[] pieces = kv.split("=", -1);
            String k = unescape(pieces[0], true);
            String v = pieces.length > 1 ? unescape(pieces[1], true) : "";
            out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return out;
    }

    private static String unescape(String s, boolean plus) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length() && hex(s.charAt(i + 1)) >= 0 && hex(s.charAt(i + 2)) >= 0) {
                b.write(hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2)));
                i += 2;
            } else if (plus && c == '+') {
                b.write(' ');
            } else {
                byte[] raw = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                b.write(raw, 0, raw.length);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
