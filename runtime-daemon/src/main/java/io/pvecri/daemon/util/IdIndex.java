package io.pvecri.daemon.util;

import io.pvecri.daemon.errors.CriException;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** Finds a record by full id or by a unique id prefix, as containerd and crictl allow. */
public final class IdIndex {
    private IdIndex() {}

    public static <T> Optional<T> find(Collection<T> records, Function<T, String> idOf, String idOrPrefix) {
        List<T> hits = records.stream().filter(r -> idOf.apply(r).startsWith(idOrPrefix)).limit(2).toList();
        if (hits.size() > 1) {
            if (hits.stream().anyMatch(r -> idOf.apply(r).equals(idOrPrefix))) {
                return hits.stream().filter(r -> idOf.apply(r).equals(idOrPrefix)).findFirst();
            }
            throw CriException.invalid("id prefix '" + idOrPrefix + "' is ambiguous; give more characters");
        }
        return hits.stream().findFirst();
    }
}
