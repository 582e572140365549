package io.pvecri.image;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

import java.io.IOException;
import java.io.InputStream;

/**
 * Commons Compress tar reader with bounds on what it reads into memory: GNU long-name/long-link
 * and PAX header entries may not exceed {@link Limits#MAX_TAR_METADATA_ENTRY_BYTES}, and no more
 * than a handful of such entries may be chained in front of one real entry (the library follows
 * them recursively). Names are decoded as UTF-8.
 */
final class BoundedTarInputStream extends TarArchiveInputStream {

    private static final int MAX_CHAINED_METADATA_ENTRIES = 16;

    private TarArchiveEntry countedEntry;
    private long countedBytes;
    private int depth;

    BoundedTarInputStream(InputStream in) {
        super(in, "UTF-8");
    }

    @Override
    public TarArchiveEntry getNextEntry() throws IOException {
        if (depth >= MAX_CHAINED_METADATA_ENTRIES) {
            throw new IOException("more than " + MAX_CHAINED_METADATA_ENTRIES
                    + " consecutive PAX/GNU metadata entries in tar stream");
        }
        depth++;
        try {
            return super.getNextEntry();
        } finally {
            depth--;
        }
    }

    @Override
    public int read(byte[] buf, int offset, int len) throws IOException {
        TarArchiveEntry current = getCurrentEntry();
        if (current != null && isMetadata(current)) {
            if (current != countedEntry) {
                countedEntry = current;
                countedBytes = 0;
            }
            long allowed = Limits.MAX_TAR_METADATA_ENTRY_BYTES - countedBytes;
            if (allowed <= 0) {
                throw new IOException("tar metadata entry (PAX header or GNU long name) is larger than "
                        + Limits.MAX_TAR_METADATA_ENTRY_BYTES + " bytes");
            }
            int n = super.read(buf, offset, (int) Math.min(len, allowed + 1));
            if (n > 0) {
                countedBytes += n;
                if (countedBytes > Limits.MAX_TAR_METADATA_ENTRY_BYTES) {
                    throw new IOException("tar metadata entry (PAX header or GNU long name) is larger than "
                            + Limits.MAX_TAR_METADATA_ENTRY_BYTES + " bytes");
                }
            }
            return n;
        }
        return super.read(buf, offset, len);
    }

    private static boolean isMetadata(TarArchiveEntry e) {
        return e.isPaxHeader() || e.isGlobalPaxHeader() || e.isGNULongNameEntry() || e.isGNULongLinkEntry();
    }
}
