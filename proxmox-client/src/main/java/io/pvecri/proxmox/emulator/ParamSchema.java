package io.pvecri.proxmox.emulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A small stand-in for PVE's JSON-schema parameter check ({@code PVE::JSONSchema::validate}): required
 * and unknown parameters, integer/number/boolean type checks and integer bounds, with PVE's messages.
 * Failures are collected per parameter into one 400 {@code Parameter verification failed.}.
 */
final class ParamSchema {

    enum Kind { STRING, INTEGER, NUMBER, BOOLEAN }

    private record Prop(Kind kind, boolean required, long min, long max) {
    }

    private final Map<String, Prop> props = new LinkedHashMap<>();
    private final Map<Pattern, Prop> patternProps = new LinkedHashMap<>();

    static ParamSchema of() {
        return new ParamSchema();
    }

    ParamSchema req(String name, Kind kind) {
        props.put(name, new Prop(kind, true, Long.MIN_VALUE, Long.MAX_VALUE));
        return this;
    }

    ParamSchema opt(String name, Kind kind) {
        props.put(name, new Prop(kind, false, Long.MIN_VALUE, Long.MAX_VALUE));
        return this;
    }

    ParamSchema opt(String name, Kind kind, long min, long max) {
        props.put(name, new Prop(kind, false, min, max));
        return this;
    }

    ParamSchema req(String name, Kind kind, long min, long max) {
        props.put(name, new Prop(kind, true, min, max));
        return this;
    }

    /** Indexed keys such as {@code net[n]}: {@code optPattern("net\\d+", STRING)}. */
    ParamSchema optPattern(String regex, Kind kind) {
        patternProps.put(Pattern.compile(regex), new Prop(kind, false, Long.MIN_VALUE, Long.MAX_VALUE));
        return this;
    }

    ParamSchema with(ParamSchema other) {
        props.putAll(other.props);
        patternProps.putAll(other.patternProps);
        return this;
    }

    /** Checks {@code params}; throws {@link PveError} (400) with every failure. */
    void validate(Map<String, List<String>> params) {
        Map<String, String> errors = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            String name = e.getKey();
            Prop p = lookup(name);
            if (p == null) {
                errors.put(name, "property is not defined in schema and the schema does not allow additional properties");
                continue;
            }
            List<String> values = e.getValue();
            if (values.size() > 1) {
                errors.put(name, "type check ('" + typeName(p.kind) + "') failed - got ARRAY");
                continue;
            }
            String err = check(p, values.isEmpty() ? "" : values.getFirst());
            if (err != null) {
                errors.put(name, err);
            }
        }
        props.forEach((name, p) -> {
            if (p.required && !params.containsKey(name)) {
                errors.put(name, "property is missing and it is not optional");
            }
        });
        if (!errors.isEmpty()) {
            throw PveError.params(errors);
        }
    }

    private Prop lookup(String name) {
        Prop p = props.get(name);
        if (p != null) {
            return p;
        }
        for (var e : patternProps.entrySet()) {
            if (e.getKey().matcher(name).matches()) {
                return e.getValue();
            }
        }
        return null;
    }

    private static String check(Prop p, String v) {
        switch (p.kind) {
            case BOOLEAN -> {
                // JSONSchema accepts 0/1 (and, from JSON bodies, true/false already mapped to 1/0)
                if (!v.equals("0") && !v.equals("1")) {
                    return "type check ('boolean') failed - got '" + v + "'";
                }
            }
            case INTEGER -> {
                if (!v.matches("[+-]?\\d+")) {
                    return "type check ('integer') failed - got '" + v + "'";
                }
                long n;
                try {
                    n = Long.parseLong(v.startsWith("+") ? v.substring(1) : v);
                } catch (NumberFormatException e) {
                    return "type check ('integer') failed - got '" + v + "'";
                }
                if (n < p.min) {
                    return "value must have a minimum value of " + p.min;
                }
                if (n > p.max) {
                    return "value must have a maximum value of " + p.max;
                }
            }
            case NUMBER -> {
                if (!v.matches("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?")) {
                    return "type check ('number') failed - got '" + v + "'";
                }
            }
            case STRING -> {
                return null;
            }
        }
        return null;
    }

    private static String typeName(Kind k) {
        return k.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Names of the declared (non-pattern) properties. */
    List<String> names() {
        return new ArrayList<>(props.keySet());
    }
}
