package io.pvecri.daemon.container;

import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.RequestLimits;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** Checks on paths that come from requests: no traversal, no symlinked escapes. */
final class PathRules {
    private PathRules() {}

    /** An absolute path without "." or ".." components and without NUL. */
    static Path requireCleanAbsolute(String what, String value) {
        if (value == null || value.isEmpty()) {
            throw CriException.invalid(what + " must not be empty");
        }
        if (value.indexOf('\0') >= 0 || value.length() > 4096) {
            throw CriException.invalid(what + " is not a usable path");
        }
        if (!value.startsWith("/")) {
            throw CriException.invalid(what + " '" + RequestLimits.printable(value) + "' must be an absolute path");
        }
        for (String part : value.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                throw CriException.invalid(what + " '" + RequestLimits.printable(value) + "' must not contain '.' or '..' components");
            }
        }
        return Path.of(value).normalize();
    }

    /**
     * Resolves a relative log path under the pod's log directory and creates its parent
     * directories, refusing ".." and any symlink on the way (a symlink could point anywhere).
     */
    static Path resolveLogPath(Path logDir, String relative) {
        if (relative.indexOf('\0') >= 0 || relative.length() > 4096) {
            throw CriException.invalid("log_path is not a usable path");
        }
        Path rel = Path.of(relative);
        if (rel.isAbsolute()) {
            throw CriException.invalid("log_path '" + RequestLimits.printable(relative) + "' must be relative to the sandbox's log_directory");
        }
        for (Path part : rel) {
            if (part.toString().equals("..") || part.toString().equals(".")) {
                throw CriException.invalid("log_path '" + RequestLimits.printable(relative) + "' must not contain '.' or '..' components");
            }
        }
        Path target = logDir.resolve(rel).normalize();
        if (!target.startsWith(logDir) || target.equals(logDir)) {
            throw CriException.invalid("log_path '" + RequestLimits.printable(relative) + "' escapes the log directory " + logDir);
        }
        try {
            Files.createDirectories(logDir);
            Path dir = logDir;
            for (Path part : logDir.relativize(target.getParent() == null ? logDir : target.getParent())) {
                if (part.toString().isEmpty()) {
                    continue;
                }
                dir = dir.resolve(part);
                if (Files.isSymbolicLink(dir)) {
                    throw CriException.invalid("log_path '" + RequestLimits.printable(relative) + "' goes through the symlink " + dir + "; refusing");
                }
                if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(dir);
                }
            }
            if (Files.isSymbolicLink(target)) {
                throw CriException.invalid("log file " + target + " is a symlink; refusing to write through it");
            }
        } catch (IOException e) {
            throw CriException.invalid("cannot create the log directory for " + target + ": " + e.getMessage());
        }
        return target;
    }
}
