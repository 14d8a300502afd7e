# Difference Between Multithreading and Multiprocessing.

# Multithread provides the ability to exceute program by multiple threads in single CPU core whereas Multiprocessing Provides the ability to execute program in multiple cores.
# Both of them provides the efficiency to the program
# Multithread can be used by the module Threading and Multiprocessing can be used by multiprocessing module.
