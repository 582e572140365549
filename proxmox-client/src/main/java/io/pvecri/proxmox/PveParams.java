package io.pvecri.proxmox;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.regex.Pattern;

/**
 * API parameters in PVE's wire form: every value a string, booleans {@code 1}/{@code 0}, insertion
 * order kept. Immutable; {@code with} returns a copy. Sent as the query string of GET/DELETE and as an
 * {@code application/x-www-form-urlencoded} body of POST/PUT.
 *
 * <pre>{@code
 * PveParams p = PveParams.of().with("hostname", "web").with("memory", 512).with("unprivileged", true);
 * }</pre>
 */
public record PveParams(SequencedMap<String, String> values) {

    // PVE parameter names: config keys (net0, mp1, ssh-public-keys, destroy-unreferenced-disks, _dc)
    private static final Pattern NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_.-]*$");
    private static final PveParams EMPTY = new PveParams(new LinkedHashMap<>());

    public PveParams {
        Objects.requireNonNull(values, "values");
        LinkedHashMap<String, String> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (!NAME.matcher(k).matches()) {
                throw new IllegalArgumentException("parameter name: not a PVE parameter name: '" + k + "'");
            }
            copy.put(k, Objects.requireNonNull(v, () -> "parameter " + k + ": null value"));
        });
        values = Collections.unmodifiableSequencedMap(copy);
    }

    public static PveParams of() {
        return EMPTY;
    }

    /** Copies a map of already-encoded values (iteration order kept). */
    public static PveParams of(Map<String, String> values) {
        return new PveParams(new LinkedHashMap<>(values));
    }

    public PveParams with(String key, String value) {
        LinkedHashMap<String, String> m = new LinkedHashMap<>(values);
        m.put(key, value);
        return new PveParams(m);
    }

    public PveParams with(String key, long value) {
        return with(key, Long.toString(value));
    }

    /** Booleans go over the wire as {@code 1}/{@code 0}; PVE rejects {@code true}. */
    public PveParams with(String key, boolean value) {
        return with(key, value ? "1" : "0");
    }

    /** Adds every entry of {@code other}, replacing equal keys. */
    public PveParams withAll(PveParams other) {
        LinkedHashMap<String, String> m = new LinkedHashMap<>(values);
        m.putAll(other.values);
        return new PveParams(m);
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    public String get(String key) {
        return values.get(key);
    }
}
