"""Tests of scripts/cost-model (python3 -m unittest discover -s scripts -p 'test_cost_model.py')."""

import importlib.machinery
import importlib.util
import io
import math
import sys
import unittest
from contextlib import redirect_stdout
from pathlib import Path

_path = Path(__file__).with_name("cost-model")
_loader = importlib.machinery.SourceFileLoader("cost_model", str(_path))
_spec = importlib.util.spec_from_loader("cost_model", _loader)
cm = importlib.util.module_from_spec(_spec)
sys.modules["cost_model"] = cm  # dataclasses look their module up
_loader.exec_module(cm)

PRICES = cm.PRICES["us-east-1"]


class Args:
    region = "us-east-1"
    nat_gateways = 2
    no_ecs_sweeper = False
    eks_node_type = "t4g.medium"


class CostModel(unittest.TestCase):
    def setUp(self):
        self.inputs = cm.Inputs.load(cm.INPUTS)

    def test_lambda_bills_whole_milliseconds_of_waiting_and_throttled_cpu(self):
        # get-request: a 4 ms GetItem, 60 us of CPU at 128/1769 of a vCPU, 0.5 ms of runtime.
        self.assertEqual(self.inputs.billed_ms("get-request"), math.ceil(4 + 0.060 / 0.0724 + 0.5))
        self.assertEqual(self.inputs.billed_ms("authorizer"), 2)
        for route in self.inputs.store_mix():
            self.assertLess(self.inputs.billed_ms(route), 20, route)

    def test_http_api_tiers(self):
        tiers = PRICES["http_api_per_million_tiers"]
        self.assertAlmostEqual(cm.tiered(400e6, tiers, 1e6), 300 * 1.00 + 100 * 0.90)
        self.assertAlmostEqual(cm.tiered(1.5e9, tiers, 1e6), 300 + 700 * 0.9 + 500 * 0.8)

    def test_per_request_fees_not_duration_decide(self):
        bill = cm.lambda_bill(self.inputs.stores(200), self.inputs, PRICES)
        duration = bill.lines["Lambda duration (routes)"] + bill.lines["Lambda duration (authorizer)"]
        self.assertLess(duration / bill.total, 0.05)

    def test_tasks_never_fewer_than_two_and_follow_cpu(self):
        self.assertEqual(cm.replicas(0.0, 0.0003, 0.25), 2)
        # 3 tasks' worth of CPU at 60 %: 3 * 0.25 * 0.6 / 0.0003 = 1,500 requests a second.
        self.assertEqual(cm.replicas(1500.0, 0.0003, 0.25), 3)
        self.assertEqual(cm.replicas(1501.0, 0.0003, 0.25), 4)

    def test_the_crossover_is_where_the_bills_meet(self):
        profile = self.inputs.stores(10)
        lam = lambda p: cm.lambda_bill(p, self.inputs, PRICES)
        far = lambda p: cm.fargate_bill(p, self.inputs, PRICES, 2, True)
        at = cm.crossover(lam, far, profile)
        k = at / profile.monthly
        self.assertAlmostEqual(lam(profile.scaled(k)).total / far(profile.scaled(k)).total, 1.0, places=2)
        self.assertLess(lam(profile.scaled(k * 0.8)).total, far(profile.scaled(k * 0.8)).total)
        self.assertGreater(lam(profile.scaled(k * 1.25)).total, far(profile.scaled(k * 1.25)).total)

    def test_a_monthly_total_with_its_peak(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(cm.main(["--monthly", "40000000", "--peak-rps", "60"]), 0)
        self.assertIn("40.00 M requests a month, peak 60.0/s", out.getvalue())
        self.assertIn("Fargate + ALB cheaper than Lambda from", out.getvalue())

    def test_the_three_chains(self):
        out = io.StringIO()
        with redirect_stdout(out):
            cm.main(["--markdown"])
        table = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
        self.assertEqual(len(table), 5)
        self.assertTrue(table[2].endswith("| Lambda |"), table[2])
        self.assertTrue(table[4].endswith("| Fargate (ECS) |"), table[4])


if __name__ == "__main__":
    unittest.main()
