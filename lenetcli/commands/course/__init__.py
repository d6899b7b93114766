"""The course study: a study file with sections (lenetcli/studies/lenet5.toml ships the
LeNet-5 course), read and run section by section into subfolders of one folder, for
`lenet report --study` (commands/report/study.py writes its report).

The modules, in the order a call goes through them (each imports only those above it):

    spec.py       the parsed file: CourseFile, its Sections and what each kind asks for
    reading.py    the study file's format, read and checked (read_course_file)
    folders.py    where a section's files lie in the folder, and what they hold so far
    plan.py       what will run, checked before anything is written, and printed
    tables.py     the course's own tables (best setting, overfitting, datasets, memorisation)
    training.py   the sections that train: sweep, datasets and noise
    confusion.py  the confusion section: the seeds' models of the best settings, over seeds
    sentences.py  the discussion: sentences made of the numbers the sections wrote
    run.py        run_course: the chosen sections into one folder, recorded in course.json
"""
