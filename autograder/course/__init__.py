"""Course tools for instructors: releasing stubs (`release`, `bundle`), a class and its roster
(`classlist`, `roster`), merging runs (`merging`), the nbgrader gradebook (`gradebook`), and mutation
analysis of an assignment's tests (`audit`)."""
