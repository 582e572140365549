package io.pvecri.daemon.cgroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Reading and writing cgroup interface files. Optional reads never throw. */
final class CgroupFiles {

    private CgroupFiles() {
    }

    /** The trimmed content of {@code file}, or empty if it is missing or unreadable. */
    static Optional<String> readOptional(Path file) {
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The trimmed content of {@code file}. */
    static String read(Path file) throws CgroupException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            throw new CgroupException("cannot read " + file + ": file does not exist", e);
        } catch (IOException e) {
            throw new CgroupException("cannot read " + file + ": " + reason(e), e);
        }
    }

    /** A single-number file such as {@code pids.current}; empty if missing or not a number. */
    static OptionalLong readLong(Path file) {
        return readOptional(file).map(CgroupFiles::parseLong).orElse(OptionalLong.empty());
    }

    /**
     * A flat-keyed file ({@code key value} per line) such as {@code memory.stat} or
     * {@code cpu.stat}; lines whose value is not a number are skipped. Empty if missing.
     */
    static Map<String, Long> readKeyed(Path file) {
        Map<String, Long> values = new HashMap<>();
        readOptional(file).ifPresent(text -> text.lines().forEach(line -> {
            String[] parts = line.strip().split("\\s+");
            if (parts.length == 2) {
                parseLong(parts[1]).ifPresent(v -> values.put(parts[0], v));
            }
        }));
        return values;
    }

    /** A decimal counter; values beyond {@code Long.MAX_VALUE} saturate. */
    static OptionalLong parseLong(String text) {
        try {
            return OptionalLong.of(Long.parseLong(text));
        } catch (NumberFormatException e) {
            try {
                Long.parseUnsignedLong(text);
                return OptionalLong.of(Long.MAX_VALUE);
            } catch (NumberFormatException notUnsigned) {
                return OptionalLong.empty();
            }
        }
    }

    /** Writes {@code value} to an existing interface file; never creates one. */
    static void write(Path file, String value) throws CgroupException {
        try {
            Files.write(file, value.getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (NoSuchFileException e) {
            throw new CgroupException("cannot write '" + value + "' to " + file
                    + ": file does not exist (is the controller enabled for this cgroup?)", e);
        } catch (IOException e) {
            throw new CgroupException("cannot write '" + value + "' to " + file + ": " + reason(e), e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
