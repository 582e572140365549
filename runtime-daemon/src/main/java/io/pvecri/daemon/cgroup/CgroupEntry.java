package io.pvecri.daemon.cgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One line of {@code /proc/<pid>/cgroup}: {@code hierarchy-id:controller-list:cgroup-path}.
 * The v2 line is {@code 0::/path} (no controllers).
 */
record CgroupEntry(int hierarchyId, Set<String> controllers, String path) {

    private static final String DELETED = " (deleted)";

    CgroupEntry {
        controllers = Set.copyOf(controllers);
    }

    boolean unified() {
        return hierarchyId == 0 && controllers.isEmpty();
    }

    /** Parses a whole {@code /proc/<pid>/cgroup} file; {@code source} names it in errors. */
    static List<CgroupEntry> parseFile(String text, String source) throws CgroupException {
        List<CgroupEntry> entries = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.split(":", 3);
            if (parts.length != 3 || !parts[0].matches("[0-9]{1,9}")) {
                throw new CgroupException("malformed line in " + source + ": '" + line
                        + "' (expected hierarchy-id:controllers:path)");
            }
            String path = parts[2].endsWith(DELETED)
                    ? parts[2].substring(0, parts[2].length() - DELETED.length())
                    : parts[2];
            Set<String> controllers = parts[1].isEmpty() ? Set.of() : Set.copyOf(List.of(parts[1].split(",")));
            entries.add(new CgroupEntry(Integer.parseInt(parts[0]), controllers, path));
        }
        return entries;
    }
}
