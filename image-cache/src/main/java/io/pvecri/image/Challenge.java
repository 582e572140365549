package io.pvecri.image;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed {@code WWW-Authenticate} challenge, e.g.
 * {@code Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"}.
 *
 * @param scheme {@code bearer} or {@code basic} (lower case)
 */
record Challenge(String scheme, Map<String, String> params) {

    /** The first bearer challenge of the headers, else the first basic one. */
    static Optional<Challenge> parse(List<String> headerValues) {
        Challenge basic = null;
        for (String v : headerValues) {
            for (Challenge c : parseHeader(v)) {
                if (c.scheme().equals("bearer")) {
                    return Optional.of(c);
                }
                if (c.scheme().equals("basic") && basic == null) {
                    basic = c;
                }
            }
        }
        return Optional.ofNullable(basic);
    }

    /** Parses one header value, which may hold several challenges. */
    static List<Challenge> parseHeader(String value) {
        List<Challenge> out = new java.util.ArrayList<>();
        int i = 0;
        int n = value.length();
        String scheme = null;
        Map<String, String> params = new LinkedHashMap<>();
        while (i < n) {
            while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == ',' || value.charAt(i) == '\t')) {
                i++;
            }
            int start = i;
            while (i < n && value.charAt(i) != ' ' && value.charAt(i) != '=' && value.charAt(i) != ',') {
                i++;
            }
            String token = value.substring(start, i);
            if (token.isEmpty()) {
                i++;
                continue;
            }
            int j = i;
            while (j < n && value.charAt(j) == ' ') {
                j++;
            }
            if (j < n && value.charAt(j) == '=' && scheme != null) {
                i = j + 1;
                while (i < n && value.charAt(i) == ' ') {
                    i++;
                }
                StringBuilder v = new StringBuilder();
                if (i < n && value.charAt(i) == '"') {
                    i++;
                    while (i < n && value.charAt(i) != '"') {
                        if (value.charAt(i) == '\\' && i + 1 < n) {
                            i++;
                        }
                        v.append(value.charAt(i++));
                    }
                    i++;
                } else {
                    while (i < n && value.charAt(i) != ',' && value.charAt(i) != ' ') {
                        v.append(value.charAt(i++));
                    }
                }
                params.put(token.toLowerCase(Locale.ROOT), v.toString());
            } else {
                if (scheme != null) {
                    out.add(new Challenge(scheme, Map.copyOf(params)));
                    params.clear();
                }
                scheme = token.toLowerCase(Locale.ROOT);
            }
        }
        if (scheme != null) {
            out.add(new Challenge(scheme, Map.copyOf(params)));
        }
        return out;
    }
}
