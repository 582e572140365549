package io.pvecri.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/** {@link ProcessOwner} by {@code /proc/<pid>/cgroup}. */
final class CgroupProcessOwner implements ProcessOwner {

    private final Path procDir;
    private final Function<String, Optional<String>> containerOfCgroup;

    CgroupProcessOwner(Path procDir, Function<String, Optional<String>> containerOfCgroup) {
        this.procDir = procDir;
        this.containerOfCgroup = containerOfCgroup;
    }

    @Override
    public Optional<String> containerOf(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        String text;
        try {
            text = Files.readString(procDir.resolve(Long.toString(pid)).resolve("cgroup"));
        } catch (IOException e) {
            return Optional.empty(); // exited since NVML listed it
        }
        for (String path : paths(text)) {
            Optional<String> id = containerOfCgroup.apply(path);
            if (id.isPresent()) {
                return id;
            }
        }
        return Optional.empty();
    }

    /** The cgroup paths of a {@code /proc/<pid>/cgroup} file: {@code id:controllers:path} lines, v2 first. */
    static Set<String> paths(String text) {
        Set<String> v2 = new LinkedHashSet<>();
        Set<String> v1 = new LinkedHashSet<>();
        for (String line : text.split("\n")) {
            int first = line.indexOf(':');
            int second = first < 0 ? -1 : line.indexOf(':', first + 1);
            if (second < 0) {
                continue;
            }
            String path = line.substring(second + 1);
            if (line.startsWith("0::")) {
                v2.add(path);
            } else {
                v1.add(path);
            }
        }
        v2.addAll(v1);
        return v2;
    }
}
