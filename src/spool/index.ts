/**
 * spool/: message bodies as they stream in: kept in memory up to the inline limit, otherwise
 * files under dataDir/spool. Owns file creation, fsync of files and folders, and the orphan
 * sweep. Never decides what is queued (queue/ does). Fails
 * by rejecting its promises with the file system's error; nothing half-written is kept.
 * Imports: core.
 */
export * from './spool.ts';
export * from './health.ts';
