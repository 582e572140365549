package io.pvecri.daemon.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A minimal parser of the Prometheus text exposition format (version 0.0.4), for assertions. */
public final class PrometheusText {
    /** One sample: {@code name{labels} value}. */
    public record Sample(String name, Map<String, String> labels, double value) {
        /** True when every given label is present with that value (other labels may exist). */
        public boolean has(Map<String, String> wanted) {
            return wanted.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
        }
    }

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    public static PrometheusText parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            samples.add(parseLine(l));
        }
        return new PrometheusText(samples);
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Samples named {@code name} carrying all of {@code labels}. */
    public List<Sample> find(String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.has(labels)).toList();
    }

    /**
     * Sum of the samples named {@code name} carrying all of {@code labels} (summing over the labels
     * not named), or empty if there is none.
     */
    public Optional<Double> sum(String name, Map<String, String> labels) {
        List<Sample> found = find(name, labels);
        return found.isEmpty() ? Optional.empty()
                : Optional.of(found.stream().mapToDouble(Sample::value).sum());
    }

    /** Like {@link #sum} but a missing series counts as zero (a counter not yet incremented). */
    public double sumOrZero(String name, Map<String, String> labels) {
        return sum(name, labels).orElse(0.0);
    }

    private static Sample parseLine(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String key = line.substring(i, eq).strip();
                if (line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("bad label in metrics line: " + line);
                }
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char next = line.charAt(++j);
                        value.append(next == 'n' ? '\n' : next);
                    } else {
                        value.append(c);
                    }
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        String[] rest = line.substring(i).strip().split("\\s+");
        return new Sample(name, labels, parseValue(rest[0]));
    }

    private static double parseValue(String v) {
        return switch (v) {
            case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }
}
