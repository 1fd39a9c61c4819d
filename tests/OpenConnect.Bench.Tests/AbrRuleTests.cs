using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

public class AbrRuleTests
{
    private static readonly double[] Ladder = [400_000, 700_000, 1_300_000, 2_500_000];

    [Theory]
    // No estimate yet: stay.
    [InlineData(0, 2.0, null, false, 0)]
    // Up only when the estimate exceeds 1.5x the rung switched to.
    [InlineData(0, 2.0, 1_000_000.0, false, 0)]
    [InlineData(0, 2.0, 1_050_000.0, false, 1)]
    [InlineData(0, 10.0, 4_000_000.0, true, 3)]
    [InlineData(1, 10.0, 1_900_000.0, true, 1)]
    [InlineData(1, 10.0, 1_950_000.0, true, 2)]
    // A low estimate alone never switches down while the buffer holds 5 s or more.
    [InlineData(2, 10.0, 500_000.0, true, 2)]
    [InlineData(2, 5.0, 100_000.0, true, 2)]
    // Buffer under 5 s after it had filled: down at once, to what the estimate covers, at least one step.
    [InlineData(3, 4.9, 1_500_000.0, true, 2)]
    [InlineData(3, 4.9, 10_000_000.0, true, 2)]
    [InlineData(3, 4.9, 500_000.0, true, 0)]
    [InlineData(2, 0.0, null, true, 1)]
    // The lowest rung cannot go lower.
    [InlineData(0, 1.0, 100_000.0, true, 0)]
    // During start-up (buffer never reached 5 s) a small buffer does not force a down-switch.
    [InlineData(3, 3.0, 500_000.0, false, 3)]
    public void SeedRule(int current, double buffer, double? estimate, bool filled, int expected) =>
        Assert.Equal(expected, new ThroughputRule().Choose(Ladder, new AbrInput(current, buffer, estimate, filled)));

    [Theory]
    // ln-utility BOLA with Q_min 10 s, Q_target 18 s on a ladder doubling per rung.
    [InlineData(0.0, 0)]
    [InlineData(10.0, 0)]
    [InlineData(11.0, 0)]
    [InlineData(12.0, 1)]
    [InlineData(13.0, 1)]
    [InlineData(14.0, 2)]
    [InlineData(16.0, 2)]
    [InlineData(17.0, 3)]
    [InlineData(18.0, 3)]
    [InlineData(30.0, 3)]
    public void BolaRule_ChoosesByBufferLevel(double buffer, int expected)
    {
        double[] ladder = [300_000, 600_000, 1_200_000, 2_400_000];
        var rule = new BolaRule();
        // Buffer only: neither the current rung nor the estimate changes the choice.
        Assert.Equal(expected, rule.Choose(ladder, new AbrInput(0, buffer, null, false)));
        Assert.Equal(expected, rule.Choose(ladder, new AbrInput(3, buffer, 100_000, true)));
        Assert.Equal(expected, rule.Choose(ladder, new AbrInput(1, buffer, 50_000_000, true)));
    }

    [Fact]
    public void BolaRule_NeverChoosesLowerWhenTheBufferGrows()
    {
        var rule = new BolaRule();
        var previous = 0;
        for (var buffer = 0.0; buffer <= 40; buffer += 0.25)
        {
            var choice = rule.Choose(Ladder, new AbrInput(0, buffer, null, true));
            Assert.True(choice >= previous, $"buffer {buffer}: {choice} after {previous}");
            previous = choice;
        }

        Assert.Equal(Ladder.Length - 1, previous);
    }

    [Fact]
    public void BolaRule_RejectsATargetBelowTheMinimum() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BolaRule(10, 8));

    [Fact]
    public void Estimator_IsBitsOverTimeOfTheLastThreeSegments()
    {
        var estimator = new ThroughputEstimator();
        Assert.Null(estimator.Estimate);
        estimator.Add(1_000, 1);
        Assert.Equal(8_000, estimator.Estimate);
        estimator.Add(3_000, 1);
        estimator.Add(2_000, 2);
        estimator.Add(4_000, 1);
        // The first sample has left the window: (3000 + 2000 + 4000) bytes * 8 over 4 s.
        Assert.Equal(18_000, estimator.Estimate);
    }
}
