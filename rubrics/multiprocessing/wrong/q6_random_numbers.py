# Wrong variant of reference.py: Q6 children print random numbers: different only by chance.
# Expected verdicts: see ../expected.yaml.

# %% [markdown]
# # Q1. What is multiprocessing in python? Why is it useful?
#
# Multiprocessing runs parts of a program in separate processes, each with its own Python
# interpreter and its own memory. The operating system can run these processes in parallel on
# several CPU cores at the same time. Because every process has its own interpreter, the Global
# Interpreter Lock (GIL) of one process does not block the others, so multiprocessing gives true
# parallelism for CPU-bound work such as heavy computation, where threads would take turns.

# %% [markdown]
# # Q2. What are the differences between multiprocessing and multithreading?
#
# - Memory: processes have separate memory spaces; threads of one process share the same memory.
# - The GIL: threads in CPython hold the Global Interpreter Lock in turn, so only one runs Python
#   code at a time; processes each have their own GIL and run in true parallel on multiple cores.
# - Use: multiprocessing suits CPU-bound tasks; multithreading suits I/O-bound tasks that mostly
#   wait for the network or the disk.
# - Overhead: a process is heavier to start and uses more memory than a thread.
# - Communication: threads can share variables directly (with locks against race conditions);
#   processes must communicate through queues, pipes or shared memory, which pickles the data.

# %%
# Q3. Write a python code to create a process using the multiprocessing module.
import multiprocessing


def greet(name):
    print(f"Hello from the child process, {name}")


if __name__ == "__main__":
    process = multiprocessing.Process(target=greet, args=("world",))
    process.start()
    process.join()
    print("The child process has finished")

# %% [markdown]
# # Q4. What is a multiprocessing pool in python? Why is it used?
#
# A pool (`multiprocessing.Pool`) is a fixed number of worker processes that are created once and
# reused for many tasks. Tasks or data are distributed among the workers with methods such as
# `map` and `apply`, so one function is run in parallel over many inputs without creating and
# joining a process for each input by hand.

# %%
# Q5. How can we create a pool of worker processes in python using the multiprocessing module?
from multiprocessing import Pool


def square(x):
    return x * x


if __name__ == "__main__":
    with Pool(processes=4) as pool:
        print(pool.map(square, range(10)))

# %%
# Q6. Write a python program to create 4 processes, each process should print a different
# number using the multiprocessing module in python.
import multiprocessing
import random


def show(barrier):
    barrier.wait()
    print(random.randint(1, 10**9), flush=True)


if __name__ == "__main__":
    barrier = multiprocessing.Barrier(4)
    processes = [multiprocessing.Process(target=show, args=(barrier,)) for _ in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
