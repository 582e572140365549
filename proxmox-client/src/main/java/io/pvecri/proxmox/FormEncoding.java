package io.pvecri.proxmox;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.StringJoiner;

/**
 * {@code application/x-www-form-urlencoded} the way PVE needs it: everything but the RFC 3986
 * unreserved characters percent-encoded (UTF-8), spaces as {@code %20}. PVE's decoder splits on both
 * {@code &} and {@code ;}, so {@code ;} (tags, mount options) must never travel raw; NUL (the
 * separator of the {@code env} key) becomes {@code %00}.
 */
final class FormEncoding {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private FormEncoding() {
    }

    static String encode(Map<String, String> params) {
        StringJoiner out = new StringJoiner("&");
        params.forEach((k, v) -> out.add(component(k) + "=" + component(v)));
        return out.toString();
    }

    static String component(String s) {
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return b.toString();
    }
}
