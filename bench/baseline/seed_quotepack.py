#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The original text's section-1 pipeline, ported to Python 3 as the benchmark baseline.

Kept as close to the seed as Python 3 allows, flaws included: one download thread per symbol
(all started at once), one converter thread that writes <symbol>.xml into the current folder,
and a tar thread woken every BATCH files by an Event that archives every *.xml it finds there.
Changes from the seed: Python 3 (urllib instead of requests, io.StringIO), the URL template and
the symbol list come from the command line, and the seed's typos (`self..tEvent`, `Element(root)`
for ElementTree) are fixed so that it runs at all.

usage: seed_quotepack.py URL_TEMPLATE BATCH OUTDIR SYMBOL...
"""
import csv
import io
import os
import sys
import tarfile
import urllib.request
from queue import Queue
from threading import Event, Thread
from xml.etree.ElementTree import Element, ElementTree


class DownloadThread(Thread):
    def __init__(self, sid, url, queue):
        Thread.__init__(self)
        self.sid = sid
        self.url = url
        self.queue = queue

    def download(self, url):
        with urllib.request.urlopen(url, timeout=30) as response:
            if response.status == 200:
                return io.StringIO(response.read().decode("utf-8"))
        return None

    def run(self):
        data = self.download(self.url)
        self.queue.put((self.sid, data))


def pretty(e, level=0):
    if len(e) > 0:
        e.text = "\n" + "\t" * (level + 1)
        for child in e:
            pretty(child, level + 1)
        child.tail = child.tail[:-1]
    e.tail = "\n" + "\t" * level


class ConvertThread(Thread):
    def __init__(self, queue, c_event, t_event, batch):
        Thread.__init__(self)
        self.queue = queue
        self.c_event = c_event
        self.t_event = t_event
        self.batch = batch

    def csv_to_xml(self, scsv, fxml):
        reader = csv.reader(scsv)
        headers = next(reader)
        headers = [h.replace(" ", "") for h in headers]
        root = Element("Data")
        for row in reader:
            e_row = Element("Row")
            root.append(e_row)
            for tag, text in zip(headers, row):
                e = Element(tag)
                e.text = text
                e_row.append(e)
        pretty(root)
        ElementTree(root).write(fxml)

    def run(self):
        count = 0
        while True:
            sid, data = self.queue.get()
            if sid == -1:
                self.c_event.set()
                self.t_event.wait()
                break
            if data:
                with open(sid + ".xml", "wb") as wf:
                    self.csv_to_xml(data, wf)
                count += 1
                if count == self.batch:
                    self.c_event.set()
                    self.t_event.wait()
                    self.t_event.clear()
                    count = 0


class TarThread(Thread):
    def __init__(self, c_event, t_event):
        Thread.__init__(self)
        self.count = 0
        self.c_event = c_event
        self.t_event = t_event
        self.daemon = True

    def tar_xml(self):
        self.count += 1
        tfname = "%d.tgz" % self.count
        tf = tarfile.open(tfname, "w:gz")
        for fname in os.listdir("."):
            if fname.endswith(".xml"):
                tf.add(fname)
                os.remove(fname)
        tf.close()
        if not tf.members:
            os.remove(tfname)

    def run(self):
        while True:
            self.c_event.wait()
            self.tar_xml()
            self.c_event.clear()
            self.t_event.set()


def main():
    template, batch, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    symbols = sys.argv[4:]
    os.makedirs(outdir, exist_ok=True)
    os.chdir(outdir)
    q = Queue()
    d_threads = [DownloadThread(s, template.replace("{symbol}", s), q) for s in symbols]
    c_event = Event()
    t_event = Event()
    c_thread = ConvertThread(q, c_event, t_event, batch)
    t_thread = TarThread(c_event, t_event)
    t_thread.start()
    for t in d_threads:
        t.start()
    c_thread.start()
    for t in d_threads:
        t.join()
    q.put((-1, None))
    c_thread.join()


if __name__ == "__main__":
    main()
