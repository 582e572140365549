package io.pvecri.gpu;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Finds the driver's user-space libraries and tools on the host, by the configured globs and names. */
final class DriverFiles {

    private final List<Path> libraryDirs;
    private final List<PathMatcher> libraryGlobs;
    private final List<Path> binaryDirs;
    private final List<String> binaries;

    DriverFiles(GpuConfig config) {
        this.libraryDirs = config.librarySearchDirs();
        this.libraryGlobs = config.driverLibraryGlobs().stream()
                .map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
        this.binaryDirs = config.binarySearchDirs();
        this.binaries = config.driverBinaries();
    }

    /**
     * The files to mount, in a stable order: every library matching a glob in every library dir
     * (symlinks included; they are mounted as the file they point at), then the first of each
     * binary found in the binary dirs. Dangling links and non-files are skipped.
     */
    List<Path> find() throws IOException {
        Set<Path> out = new LinkedHashSet<>();
        for (Path dir : libraryDirs) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> matches = new ArrayList<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
                for (Path p : s) {
                    Path name = p.getFileName();
                    if (libraryGlobs.stream().anyMatch(m -> m.matches(name)) && Files.isRegularFile(p)) {
                        matches.add(p);
                    }
                }
            }
            matches.sort(null);
            out.addAll(matches);
        }
        for (String binary : binaries) {
            for (Path dir : binaryDirs) {
                Path p = dir.resolve(binary);
                if (Files.isRegularFile(p)) {
                    out.add(p);
                    break;
                }
            }
        }
        return List.copyOf(out);
    }
}
