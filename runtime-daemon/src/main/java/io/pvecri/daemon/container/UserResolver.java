package io.pvecri.daemon.container;

import io.pvecri.daemon.errors.CriException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves the user a container runs as from the image's /etc/passwd and /etc/group, as
 * containerd does. The files are read only when neither they nor /etc are symlinks, so an image
 * cannot make the daemon read host files.
 */
final class UserResolver {
    record Identity(long uid, long gid, List<Long> groups) {}

    private record Passwd(String name, long uid, long gid) {}

    private final Path rootfs;

    UserResolver(Path rootfs) {
        this.rootfs = rootfs;
    }

    /**
     * @param uid       run_as_user if set
     * @param username  run_as_username if set
     * @param gid       run_as_group if set
     * @param imageUser the image config's User ("name", "uid", "uid:gid", "name:group"), may be empty
     * @param extra     supplemental groups from the security context
     */
    Identity resolve(Optional<Long> uid, Optional<String> username, Optional<Long> gid, String imageUser, List<Long> extra) {
        List<Passwd> passwd = readPasswd();
        Passwd user;
        Optional<Long> groupFromSpec = gid;
        if (uid.isPresent()) {
            user = passwd.stream().filter(p -> p.uid() == uid.get()).findFirst().orElse(new Passwd(null, uid.get(), 0));
        } else if (username.isPresent()) {
            user = byName(passwd, username.get());
        } else if (imageUser != null && !imageUser.isEmpty()) {
            String[] parts = imageUser.split(":", 2);
            user = isNumber(parts[0])
                    ? passwd.stream().filter(p -> p.uid() == Long.parseLong(parts[0])).findFirst().orElse(new Passwd(null, Long.parseLong(parts[0]), 0))
                    : byName(passwd, parts[0]);
            if (parts.length == 2 && groupFromSpec.isEmpty()) {
                groupFromSpec = Optional.of(isNumber(parts[1]) ? Long.parseLong(parts[1]) : groupByName(parts[1]));
            }
        } else {
            user = passwd.stream().filter(p -> p.uid() == 0).findFirst().orElse(new Passwd("root", 0, 0));
        }
        long g = groupFromSpec.orElse(user.gid());
        Set<Long> groups = new LinkedHashSet<>();
        if (user.name() != null) {
            groups.addAll(memberships(user.name()));
        }
        groups.addAll(extra);
        groups.remove(g);
        return new Identity(user.uid(), g, List.copyOf(groups));
    }

    private Passwd byName(List<Passwd> passwd, String name) {
        return passwd.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> CriException.invalid("user '" + name + "' is not in the image's /etc/passwd; use a numeric run_as_user or add the user to the image"));
    }

    private long groupByName(String name) {
        for (String[] g : readTable("group")) {
            if (g.length >= 3 && g[0].equals(name) && isNumber(g[2])) {
                return Long.parseLong(g[2]);
            }
        }
        throw CriException.invalid("group '" + name + "' is not in the image's /etc/group");
    }

    private List<Long> memberships(String user) {
        List<Long> out = new ArrayList<>();
        for (String[] g : readTable("group")) {
            if (g.length >= 4 && isNumber(g[2]) && List.of(g[3].split(",")).contains(user)) {
                out.add(Long.parseLong(g[2]));
            }
        }
        return out;
    }

    private List<Passwd> readPasswd() {
        List<Passwd> out = new ArrayList<>();
        for (String[] f : readTable("passwd")) {
            if (f.length >= 4 && isNumber(f[2]) && isNumber(f[3])) {
                out.add(new Passwd(f[0], Long.parseLong(f[2]), Long.parseLong(f[3])));
            }
        }
        return out;
    }

    private List<String[]> readTable(String file) {
        Path etc = rootfs.resolve("etc");
        Path p = etc.resolve(file);
        if (!Files.isDirectory(etc, LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try {
            if (Files.size(p) > 4 * 1024 * 1024) {
                return List.of();
            }
            return Files.readAllLines(p).stream().filter(l -> !l.startsWith("#")).map(l -> l.split(":", -1)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() < 12 && s.chars().allMatch(Character::isDigit);
    }
}
