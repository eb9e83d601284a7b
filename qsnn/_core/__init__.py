"""Infrastructure under every part: argument checks, reset names, atomic files, folder locks, JSON and
YAML reading, optional extras, compiled-kernel specialisation and the command lines' shared behaviour.
Private: the public API of each part re-exports what a user needs."""
