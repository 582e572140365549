package io.pvecri.daemon.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a container log file in the CRI format the kubelet expects:
 * {@code <RFC3339Nano timestamp> <stdout|stderr> <F|P> <message>}, one record per line; a long
 * message is split into P(artial) records ended by an F(ull) one.
 */
public final class CriLog {
    private static final Pattern LINE = Pattern.compile("^(\\S+) (stdout|stderr) ([FP]) (.*)$");

    /** One record of the file, exactly as written. */
    public record Record(Instant time, String stream, String tag, String message) {
    }

    /** One logical line: partial records joined. */
    public record Line(Instant time, String stream, String message) {
        @Override
        public String toString() {
            return stream + " " + message;
        }
    }

    private CriLog() {
    }

    /** All records in {@code file}; fails on any line that is not in CRI format. */
    public static List<Record> records(Path file) {
        if (!Files.exists(file)) {
            return List.of();
        }
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Record> records = new ArrayList<>();
        String[] lines = content.split("\n", -1);
        // The last element is the text after the final newline: a record still being written.
        for (int i = 0; i < lines.length - 1; i++) {
            records.add(parse(file, lines[i]));
        }
        return records;
    }

    /** Logical lines of {@code file}, partial records joined per stream. */
    public static List<Line> lines(Path file) {
        List<Line> result = new ArrayList<>();
        StringBuilder[] pending = {new StringBuilder(), new StringBuilder()};
        for (Record r : records(file)) {
            StringBuilder buffer = pending[r.stream().equals("stdout") ? 0 : 1];
            buffer.append(r.message());
            if (r.tag().equals("F")) {
                result.add(new Line(r.time(), r.stream(), buffer.toString()));
                buffer.setLength(0);
            }
        }
        return result;
    }

    /** Waits (bounded) until {@code file} holds a logical line equal to {@code stream + " " + message}. */
    public static List<Line> awaitLine(Path file, String stream, String message) {
        return Wait.forValue("log line '" + stream + " " + message + "' in " + file, Duration.ofSeconds(20),
                () -> lines(file),
                lines -> lines.stream().anyMatch(l -> l.stream().equals(stream) && l.message().equals(message)));
    }

    private static Record parse(Path file, String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            throw new AssertionError("not a CRI log line in " + file + ": '" + line + "'");
        }
        Instant time;
        try {
            time = OffsetDateTime.parse(m.group(1)).toInstant();
        } catch (DateTimeParseException e) {
            throw new AssertionError("bad RFC 3339 timestamp in " + file + ": '" + line + "'", e);
        }
        return new Record(time, m.group(2), m.group(3), m.group(4));
    }
}
