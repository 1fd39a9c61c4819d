using OpenConnect.Contracts.Placement;

namespace OpenConnect.FillController.Tests;

/// <summary>
/// Placement puts a title's copies on a prefix of its rendezvous ranking; that is only stable if
/// removing an appliance leaves the relative order of the others unchanged.
/// </summary>
public class RendezvousPrefixTests
{
    [Fact]
    public void RemovingAnAppliance_KeepsTheOrderOfTheOthers()
    {
        var ids = Enumerable.Range(0, 8).Select(i => $"oca-{i}").ToArray();
        for (var t = 0; t < 200; t++)
        {
            var title = Rendezvous.HashTitle($"title-{t}");
            var all = ids.OrderByDescending(id => Rendezvous.Score(title, Rendezvous.HashId(id), 100)).ToList();
            var removed = all[t % all.Count];
            var rest = ids.Where(id => id != removed).OrderByDescending(id => Rendezvous.Score(title, Rendezvous.HashId(id), 100));
            Assert.Equal(all.Where(id => id != removed), rest);
        }
    }
}
