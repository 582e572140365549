package io.pvecri.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** An image layout directory, read in place (never modified). */
record DirectorySource(Path dir) implements ImportSource {

    @Override
    public String describe() {
        return dir.toString();
    }

    @Override
    public Optional<SourceFile> find(String name) throws InvalidImageException, IOException {
        List<String> comps = TarPath.components(name, dir + ": file '" + name + "'");
        if (comps.isEmpty()) {
            return Optional.empty();
        }
        Path p = dir;
        for (String c : comps) {
            p = p.resolve(c);
        }
        if (!Files.isRegularFile(p)) {
            return Optional.empty();
        }
        return Optional.of(new SourceFile(name, p, Files.size(p), false));
    }
}
